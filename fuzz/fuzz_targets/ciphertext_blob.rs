#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| drop(strongroom_core::ciphertext::parse(data)));
