//! The province's staff console: server-rendered HTML for officers, admins and viewers, in
//! Vietnamese first and English, on the same server and TLS set-up as the API.

pub mod stats;
pub mod words;
