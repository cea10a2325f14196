#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| client_sdk::fuzzing::updates(data));
