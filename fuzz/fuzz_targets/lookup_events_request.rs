#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| strongroom_api_aws::fuzzing::lookup_events_request(data));
