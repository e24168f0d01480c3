//! Calendar days as the programme counts them: Vietnam's (UTC+07:00, no
//! daylight saving). Times are stored in UTC (`finished_at` and the rest);
//! a day, a quarter or a plan's year begins at midnight in Vietnam, 17:00
//! UTC the day before. A report for Q2 therefore holds minutes finished at
//! 06:00 on 1 April in Vietnam, and the list filtered `to=2016-06-30` those
//! finished at 23:30 on 30 June there.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// Vietnam's offset from UTC, in hours.
pub const UTC_OFFSET_HOURS: i64 = 7;

/// The stored (UTC) time at which day `d` begins in Vietnam (the earliest
/// time there is, for a day at the very start of the calendar).
pub fn day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
        .checked_sub_signed(Duration::hours(UTC_OFFSET_HOURS))
        .unwrap_or(NaiveDateTime::MIN)
}

/// The stored (UTC) time at which day `d` ends in Vietnam: the start of the
/// next day.
pub fn day_end(d: NaiveDate) -> NaiveDateTime {
    day_start(d)
        .checked_add_signed(Duration::days(1))
        .unwrap_or(NaiveDateTime::MAX)
}

/// The day in Vietnam of a stored (UTC) time.
pub fn date_of(t: NaiveDateTime) -> NaiveDate {
    t.checked_add_signed(Duration::hours(UTC_OFFSET_HOURS))
        .unwrap_or(t)
        .date()
}

/// Today in Vietnam.
pub fn today() -> NaiveDate {
    date_of(chrono::Utc::now().naive_utc())
}

/// Years a date given in a query may name: four digits, from 1900 (as
/// `api-spec/openapi.yaml`'s pattern says).
pub const QUERY_YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// A date from a query, exactly `YYYY-MM-DD` with a year in [`QUERY_YEARS`];
/// anything else (chrono alone also reads `-0001-01-01`, `+10000-01-01` or
/// `2016-7-1`) is 422 naming `field`.
pub fn query_date(
    field: &str,
    s: Option<&str>,
) -> Result<Option<NaiveDate>, crate::error::ApiError> {
    use chrono::Datelike;
    let Some(s) = s else { return Ok(None) };
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| shaped && QUERY_YEARS.contains(&d.year()))
        .map(Some)
        .ok_or_else(|| {
            crate::error::ApiError::field(field, "must be a date YYYY-MM-DD from the year 1900 on")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn query_dates_are_four_digit_years_from_1900() {
        let d = |s| query_date("to", Some(s));
        assert_eq!(
            d("2016-06-30").unwrap(),
            NaiveDate::from_ymd_opt(2016, 6, 30)
        );
        assert!(d("1900-01-01").is_ok());
        for bad in [
            "-0001-01-01",
            "+10000-01-01",
            "1899-12-31",
            "0999-12-31",
            "2016-7-01",
            "2016-02-30",
            "2016-06-30 ",
        ] {
            assert!(d(bad).is_err(), "{bad}");
        }
        assert_eq!(query_date("to", None).unwrap(), None);
    }

    #[test]
    fn days_begin_at_midnight_in_vietnam() {
        let d = NaiveDate::from_ymd_opt(2016, 4, 1).unwrap();
        assert_eq!(day_start(d), at("2016-03-31 17:00"));
        assert_eq!(day_end(d), at("2016-04-01 17:00"));
        // 06:00 on 1 April in Vietnam is 23:00 on 31 March in UTC.
        assert_eq!(date_of(at("2016-03-31 23:00")), d);
        assert_eq!(
            date_of(at("2016-03-31 16:59")),
            NaiveDate::from_ymd_opt(2016, 3, 31).unwrap()
        );
        assert_eq!(date_of(day_start(d)), d);
    }

    #[test]
    fn the_ends_of_the_calendar_saturate() {
        assert_eq!(day_start(NaiveDate::MIN), NaiveDateTime::MIN);
        assert_eq!(
            day_end(NaiveDate::MAX),
            NaiveDate::MAX.and_hms_opt(17, 0, 0).unwrap()
        );
        assert_eq!(date_of(NaiveDateTime::MAX), NaiveDate::MAX);
    }
}
