//! Words of the domain (services, states, shared fields) in the console's two languages.

/// The console's language: Vietnamese by default, English second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Vi,
    En,
}
