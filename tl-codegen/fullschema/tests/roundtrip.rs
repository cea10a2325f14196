//! Property test: arbitrary values of every constructor and function round-trip through bytes,
//! and damaged bytes give errors, never panics.

use tl_fullschema::visit_all;
use tl_runtime::arbitrary::{TlArbitrary, Unstructured, Visitor};
use tl_runtime::{Deserialize, Identifiable, Serialize};

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

struct RoundTrip {
    cases_per_type: u64,
    types: usize,
    cases: u64,
    failures: Vec<String>,
}

impl Visitor for RoundTrip {
    fn visit<T>(&mut self, tl_name: &'static str)
    where
        T: TlArbitrary
            + Serialize
            + Deserialize
            + Identifiable
            + std::fmt::Debug
            + PartialEq
            + 'static,
    {
        self.types += 1;
        for case in 0..self.cases_per_type {
            let data = noise(
                case ^ u64::from(T::CONSTRUCTOR_ID) << 20,
                64 + (case as usize % 8) * 256,
            );
            let mut u = Unstructured::new(&data);
            let Ok(value) = T::tl_arbitrary(&mut u) else {
                continue;
            };
            self.cases += 1;
            let bytes = value.to_bytes();
            assert_eq!(&bytes[..4], &T::CONSTRUCTOR_ID.to_le_bytes(), "{tl_name}");
            match T::from_bytes(bytes.clone()) {
                // Debug equality also covers doubles that are NaN.
                Ok(back) if format!("{back:?}") == format!("{value:?}") => {
                    assert_eq!(back.to_bytes(), bytes, "{tl_name}: re-encoding differs");
                }
                Ok(back) => self
                    .failures
                    .push(format!("{tl_name}: {value:?} came back as {back:?}")),
                Err(e) => self
                    .failures
                    .push(format!("{tl_name}: {value:?} does not decode: {e}")),
            }
            // Every strict prefix must fail cleanly; so must a few corrupted copies.
            for cut in [0, 1, 3, bytes.len() / 2, bytes.len() - 1] {
                if cut < bytes.len() {
                    assert!(
                        T::from_bytes(bytes[..cut].to_vec()).is_err(),
                        "{tl_name}: prefix {cut} decoded"
                    );
                }
            }
            for flip in 0..4u64 {
                let mut damaged = bytes.clone();
                let at = (case.wrapping_mul(31).wrapping_add(flip * 7)) as usize % damaged.len();
                damaged[at] ^= 1 << (flip % 8);
                let _ = T::from_bytes(damaged);
            }
        }
    }
}

fn run_with_big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn every_constructor_and_function_round_trips() {
    run_with_big_stack(|| {
        let mut v = RoundTrip {
            cases_per_type: 24,
            types: 0,
            cases: 0,
            failures: Vec::new(),
        };
        visit_all(&mut v);
        assert!(
            v.failures.is_empty(),
            "{} failures:\n{}",
            v.failures.len(),
            v.failures[..v.failures.len().min(20)].join("\n")
        );
        // 1706 constructors + 823 functions of layer 229 and mtproto.tl, minus the natively
        // mapped Bool/True/vector and the generic functions.
        assert!(v.types > 2400, "only {} types visited", v.types);
        assert!(v.cases > v.types as u64 * 20, "only {} cases", v.cases);
    });
}

#[test]
fn hostile_nesting_is_an_error_not_a_stack_overflow() {
    use tl_fullschema::types::InputPeerUserFromMessage;
    // inputPeerUserFromMessage nests an InputPeer: a million levels of it.
    let mut bytes = Vec::new();
    for _ in 0..1_000_000 {
        bytes.extend_from_slice(&InputPeerUserFromMessage::CONSTRUCTOR_ID.to_le_bytes());
    }
    let err = tl_fullschema::enums::InputPeer::from_bytes(bytes).unwrap_err();
    assert_eq!(
        err,
        tl_runtime::ErrorKind::TooDeep {
            limit: tl_runtime::MAX_DEPTH
        }
    );
}
