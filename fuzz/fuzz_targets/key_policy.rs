#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    strongroom_policy::fuzzing::key_policy(data);
    strongroom_policy::fuzzing::identity_policy(data);
});
