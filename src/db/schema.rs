//! The diesel schema, shared by both backends (kept by hand, matching
//! `migrations/postgres` and `migrations/sqlite`).

diesel::table! {
    /// Administrative units.
    org_units (code) {
        code -> Text,
        name -> Text,
        level -> Text,
        parent_code -> Nullable<Text>,
        path -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Accounts.
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        full_name -> Text,
        role -> Text,
        org_unit_code -> Nullable<Text>,
        team_id -> Nullable<Text>,
        is_active -> Bool,
        created_at -> Timestamp,
        last_sync_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    /// Refresh tokens (hashed).
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The registry.
    establishments (id) {
        id -> Text,
        licence_no -> Text,
        name -> Text,
        name_fold -> Text,
        business_type -> Text,
        org_unit_code -> Text,
        unit_path -> Text,
        address -> Text,
        owner_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        status -> Text,
        closed_on -> Nullable<Date>,
        closed_reason -> Nullable<Text>,
        reinspect -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Inspection teams.
    teams (id) {
        id -> Text,
        name -> Text,
        level -> Text,
        org_unit_code -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Team membership.
    team_members (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
        agency -> Text,
        is_leader -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Yearly plans.
    plans (id) {
        id -> Text,
        name -> Text,
        year -> Integer,
        org_unit_code -> Text,
        shares -> Text,
        stratify_by -> Text,
        risk_weighting -> Bool,
        seed -> Nullable<Text>,
        status -> Text,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        rehearsal -> Bool,
        seed_procedure -> Text,
        seed_record -> Nullable<Text>,
        seed_secret -> Nullable<Text>,
        frozen_input -> Nullable<Text>,
        live_key -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        number -> Nullable<Text>,
        issuing_body -> Nullable<Text>,
    }
}

diesel::table! {
    /// Recorded draws and top-ups.
    draw_rounds (plan_id, round) {
        plan_id -> Text,
        round -> Integer,
        seed -> Text,
        input_digest -> Text,
        inputs -> Text,
        assignments -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Change numbers for sync.
    change_counter (id) {
        id -> Integer,
        value -> BigInt,
    }
}

diesel::table! {
    /// What teams fetch.
    assignments (id) {
        id -> Text,
        plan_id -> Text,
        team_id -> Text,
        establishment_id -> Text,
        level -> Text,
        round -> Integer,
        status -> Text,
        due_by -> Date,
        scheduled_for -> Nullable<Date>,
        cancel_reason -> Nullable<Text>,
        version -> Integer,
        change_seq -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        selection_order -> Nullable<Integer>,
    }
}

diesel::table! {
    /// A rehearsal's would-be assignments (never a team's).
    rehearsal_assignments (id) {
        id -> Text,
        plan_id -> Text,
        team_id -> Text,
        establishment_id -> Text,
        level -> Text,
        round -> Integer,
        selection_order -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The violation catalogue.
    violation_types (code) {
        code -> Text,
        title -> Text,
        legal_basis -> Text,
        min_fine_vnd -> Nullable<BigInt>,
        max_fine_vnd -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Inspection minutes (the head; content is in versions).
    inspections (id) {
        id -> Text,
        establishment_id -> Text,
        team_id -> Text,
        assignment_id -> Nullable<Text>,
        plan_id -> Nullable<Text>,
        body_hash -> Text,
        current_version -> Integer,
        outcome -> Text,
        finished_at -> Timestamp,
        violation_count -> Integer,
        review_status -> Text,
        review_comment -> Nullable<Text>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        clock_skew -> Bool,
        distance_m -> Nullable<Double>,
        far_from_site -> Bool,
        received_at -> Timestamp,
        created_by -> Text,
        updated_at -> Timestamp,
        /// Copy of the establishment's `unit_path`, kept in step with it.
        unit_path -> Text,
        /// Copy of the establishment's `org_unit_code`, kept in step with it.
        org_unit_code -> Text,
        /// Copy of the establishment's `business_type`, kept in step with it.
        business_type -> Text,
        /// Change number of the last review change (sync carries it).
        review_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Every version of the minutes.
    inspection_versions (inspection_id, version) {
        inspection_id -> Text,
        version -> Integer,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        utc_offset_min -> Integer,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        accuracy_m -> Nullable<Double>,
        members_present -> Text,
        outcome -> Text,
        notes -> Nullable<Text>,
        checklist -> Nullable<Text>,
        violations -> Text,
        reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Violations of current versions.
    violations (inspection_id, position) {
        inspection_id -> Text,
        position -> Integer,
        code -> Text,
        sanction -> Text,
        fine_vnd -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Stored photos.
    attachments (sha256) {
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Which photos belong to which minutes.
    inspection_attachments (inspection_id, sha256) {
        inspection_id -> Text,
        sha256 -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(inspections -> establishments (establishment_id));
diesel::joinable!(inspections -> teams (team_id));
diesel::joinable!(inspection_versions -> inspections (inspection_id));
diesel::joinable!(violations -> inspections (inspection_id));
diesel::joinable!(inspection_attachments -> inspections (inspection_id));
diesel::joinable!(inspection_attachments -> attachments (sha256));
diesel::joinable!(assignments -> plans (plan_id));
diesel::joinable!(assignments -> teams (team_id));
diesel::joinable!(assignments -> establishments (establishment_id));
diesel::joinable!(draw_rounds -> plans (plan_id));
diesel::joinable!(plans -> org_units (org_unit_code));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(teams -> org_units (org_unit_code));
diesel::joinable!(establishments -> org_units (org_unit_code));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::table! {
    /// Bumped (by triggers) with every write to what a caller is read from.
    auth_epoch (id) {
        id -> Integer,
        value -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    org_units,
    users,
    refresh_tokens,
    establishments,
    audit_log,
    teams,
    team_members,
    plans,
    draw_rounds,
    change_counter,
    auth_epoch,
    assignments,
    violation_types,
    inspections,
    inspection_versions,
    violations,
    attachments,
    inspection_attachments,
    plan_indicators,
    activities
);

diesel::table! {
    /// The hash-chained audit log.
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        entity_id -> Text,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::joinable!(rehearsal_assignments -> establishments (establishment_id));
diesel::allow_tables_to_appear_in_same_query!(rehearsal_assignments, establishments);

diesel::table! {
    /// A plan's indicators (its targets beyond inspections).
    plan_indicators (id) {
        id -> Text,
        plan_id -> Text,
        code -> Text,
        name -> Text,
        unit_level -> Text,
        kind -> Text,
        target -> Double,
        position -> Integer,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Activities recorded against a plan's indicators.
    activities (id) {
        id -> Text,
        plan_id -> Text,
        indicator_id -> Text,
        indicator_code -> Text,
        org_unit_code -> Text,
        unit_path -> Text,
        date -> Date,
        quantity -> BigInt,
        note -> Text,
        status -> Text,
        withdraw_reason -> Nullable<Text>,
        evidence_sha256 -> Nullable<Text>,
        posted_digest -> Text,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(plan_indicators -> plans (plan_id));
diesel::joinable!(activities -> plan_indicators (indicator_id));
diesel::joinable!(activities -> org_units (org_unit_code));
