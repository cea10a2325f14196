#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| server_kit::fuzzing::dispatch(data));
