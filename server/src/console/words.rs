//! Words of the domain (services, states, shared fields) in the console's two languages.

/// The console's language: Vietnamese by default, English second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

// Until the words land from the statistics branch: keys as they are.
pub fn service(_lang: Lang, key: &str) -> &str {
    key
}
pub fn state(_lang: Lang, key: &str) -> &str {
    key
}
pub fn field(_lang: Lang, key: &str) -> &str {
    key
}
pub fn urgency(_lang: Lang, key: &str) -> &str {
    key
}
pub const SERVICES: [&str; 12] = [
    "essential_needs",
    "health_care",
    "psychological",
    "legal_aid",
    "schooling",
    "vocational_training",
    "jobs",
    "loans",
    "hardship_allowance",
    "safe_accommodation",
    "identity_papers",
    "interpretation",
];
pub const STATES: [&str; 5] = [
    "received",
    "accepted",
    "declined",
    "in_progress",
    "completed",
];
