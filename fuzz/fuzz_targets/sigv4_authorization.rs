#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| strongroom_sigv4::fuzzing::authorization(data));
