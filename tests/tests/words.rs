//! One word per service and state across the product: the phone's reports and CLI (core) say
//! what the province's console says (the Android app's words are the console's, issue 12).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chungtay_core::domain::ReferralState;
use chungtay_core::report::{ALL_SERVICES, service_key, service_label, state_label};
use chungtay_intake::console::words::{self, Lang};

#[test]
fn core_and_console_name_every_service_and_state_alike() {
    for s in ALL_SERVICES {
        let (vi, en) = service_label(s);
        let key = service_key(s);
        assert_eq!(words::service(Lang::Vi, key), vi, "{key}");
        assert_eq!(words::service(Lang::En, key), en, "{key}");
    }
    for (state, key) in [
        (ReferralState::Received, "received"),
        (ReferralState::Accepted, "accepted"),
        (ReferralState::Declined, "declined"),
        (ReferralState::InProgress, "in_progress"),
        (ReferralState::Completed, "completed"),
    ] {
        let (vi, en) = state_label(state);
        assert_eq!(words::state(Lang::Vi, key), vi, "{key}");
        assert_eq!(words::state(Lang::En, key), en, "{key}");
    }
}
