#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tl_fullschema::fuzzing::encode(data));
