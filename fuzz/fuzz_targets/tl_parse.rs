#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tl_schema::fuzzing::parse_schema(data));
