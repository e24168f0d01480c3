//! The states records move through, as enums: the stored and JSON spelling
//! is `as_str()`, and text read from the database or a request is `parse`d
//! into them at the edge.

/// Declares an enum with its wire spelling, `ALL`, `as_str`, `parse` and a
/// "must be one of" message.
macro_rules! spelled_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and JSON spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored and JSON spelling.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// "must be one of a, b, c", for a field error.
            pub fn one_of() -> String {
                let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("must be one of {}", all.join(", "))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled_enum! {
    /// Where an assignment stands.
    AssignmentStatus {
        /// Drawn, no date set.
        Pending = "pending",
        /// The team set a visit date.
        Scheduled = "scheduled",
        /// Minutes were posted for it.
        Completed = "completed",
        /// Withdrawn (its establishment closed); top-up replaces it.
        Cancelled = "cancelled",
    }
}

impl AssignmentStatus {
    /// The statuses of work still to be done: minutes may complete these,
    /// and a closing establishment cancels them.
    pub const OPEN: [AssignmentStatus; 2] =
        [AssignmentStatus::Pending, AssignmentStatus::Scheduled];

    /// The spelling of [`AssignmentStatus::OPEN`], for queries.
    pub fn open_strs() -> [&'static str; 2] {
        [Self::OPEN[0].as_str(), Self::OPEN[1].as_str()]
    }

    /// Whether work remains on it.
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

spelled_enum! {
    /// Where a plan stands.
    PlanStatus {
        /// Created, not drawn.
        Draft = "draft",
        /// Drawn once; only top-ups follow.
        Drawn = "drawn",
    }
}

spelled_enum! {
    /// Where the review of minutes stands.
    ReviewStatus {
        /// Posted or corrected, waiting for a supervisor.
        Pending = "pending",
        /// Accepted by a supervisor.
        Accepted = "accepted",
        /// Returned for correction.
        Returned = "returned",
    }
}

spelled_enum! {
    /// Whether an establishment still trades.
    EstablishmentStatus {
        /// Trading.
        Active = "active",
        /// Closed; never deleted.
        Closed = "closed",
    }
}

spelled_enum! {
    /// What a visit found.
    Outcome {
        /// Inspected, nothing found.
        NoViolation = "no_violation",
        /// Inspected, violations recorded.
        ViolationsFound = "violations_found",
        /// Found closed.
        Closed = "closed",
        /// The team was refused entry.
        RefusedEntry = "refused_entry",
        /// Nothing at the registered address.
        NotFound = "not_found",
    }
}

impl Outcome {
    /// The outcomes of a visit that count as an inspection, everywhere
    /// "inspected" is counted (coverage, the console, the reports): the team
    /// went in and checked, whether or not it found violations. A refusal at
    /// the door, an establishment found closed or not found is a visit, never
    /// an inspection.
    pub const INSPECTED: &'static [Outcome] = &[Outcome::NoViolation, Outcome::ViolationsFound];

    /// Whether a visit with this outcome counts as an inspection
    /// ([`Outcome::INSPECTED`]).
    pub fn counts_as_inspected(self) -> bool {
        Self::INSPECTED.contains(&self)
    }
}

spelled_enum! {
    /// What a violation's minutes propose.
    Sanction {
        /// A warning.
        Warning = "warning",
        /// A fine, with its amount.
        Fine = "fine",
        /// Suspension of the business.
        Suspension = "suspension",
        /// Referral to another authority.
        Referral = "referral",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_closed_or_missing_is_not_an_inspection() {
        let inspected: Vec<&str> = Outcome::ALL
            .iter()
            .filter(|o| o.counts_as_inspected())
            .map(|o| o.as_str())
            .collect();
        assert_eq!(inspected, ["no_violation", "violations_found"]);
    }

    #[test]
    fn spellings_round_trip() {
        for s in AssignmentStatus::ALL {
            assert_eq!(AssignmentStatus::parse(s.as_str()), Some(*s));
        }
        for s in Outcome::ALL {
            assert_eq!(Outcome::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Sanction::parse("fines"), None);
        assert_eq!(
            AssignmentStatus::one_of(),
            "must be one of pending, scheduled, completed, cancelled"
        );
        assert_eq!(AssignmentStatus::open_strs(), ["pending", "scheduled"]);
    }
}
