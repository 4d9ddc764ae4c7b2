//! Referral statistics for the province, with small cells suppressed as the phone's reports do.
