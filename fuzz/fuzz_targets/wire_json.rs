//! Every wire type a phone or the server reads from the network: any bytes either fail to
//! parse or parse to a value that serialises and parses back to the same value.
#![no_main]

use chungtay_protocol::{
    Checkpoint, CheckpointAck, EnrollRequest, EnrollResponse, ErrorBody, Receipt,
    StaffReferralList, StatusPage, Submission, TransitionRequest,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let again = serde_json::to_vec(&v).expect("a parsed value serialises");
        let back: T = serde_json::from_slice(&again).expect("what was written parses");
        assert_eq!(v, back);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Submission>(data);
    round_trip::<Receipt>(data);
    round_trip::<StatusPage>(data);
    round_trip::<Checkpoint>(data);
    round_trip::<CheckpointAck>(data);
    round_trip::<EnrollRequest>(data);
    round_trip::<EnrollResponse>(data);
    round_trip::<ErrorBody>(data);
    round_trip::<TransitionRequest>(data);
    round_trip::<StaffReferralList>(data);
});
