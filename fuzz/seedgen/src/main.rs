//! Writes the committed seed corpus of every fuzz target to `fuzz/seeds/<target>/`, replacing
//! what is there: snippets of the real schemas, real encodings, recorded transport streams,
//! recorded handshakes and encrypted packets. Deterministic: running it again gives the same
//! files. Files named `regression-*` (inputs that once found a bug) are left in place.

use mtproto::fuzzing as mt;
use std::fs;
use std::path::{Path, PathBuf};

fn noise(seed: u64, len: usize, mask: u8) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8 & mask
        })
        .collect()
}

struct Seeds {
    root: PathBuf,
    bytes: usize,
    files: usize,
}

impl Seeds {
    fn target(&mut self, target: &str, seeds: impl IntoIterator<Item = (String, Vec<u8>)>) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("create the seed directory");
        // Inputs that once found a bug (`regression-*`) are kept; the rest is rewritten.
        for entry in fs::read_dir(&dir)
            .expect("read the seed directory")
            .flatten()
        {
            if !entry
                .file_name()
                .to_string_lossy()
                .starts_with("regression-")
            {
                fs::remove_file(entry.path()).expect("remove an old seed");
            }
        }
        for (name, data) in seeds {
            self.bytes += data.len();
            self.files += 1;
            fs::write(dir.join(name), data).expect("write a seed");
        }
    }
}

/// Consecutive chunks of `lines` lines from `text`, every `step` chunks.
fn chunks(text: &str, lines: usize, step: usize) -> Vec<String> {
    let all: Vec<&str> = text.lines().collect();
    all.chunks(lines)
        .step_by(step)
        .map(|c| c.join("\n") + "\n")
        .collect()
}

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = here.join("../..");
    let telegram = repo.join("tl-schema/schemas/telegram");
    let mut seeds = Seeds {
        root: here.join("../seeds"),
        bytes: 0,
        files: 0,
    };

    // TL text: the project's schemas whole, slices of the full layers, and the odd forms.
    let read =
        |p: PathBuf| fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut tl = vec![
        ("mtproto.tl".to_owned(), read(repo.join("tl-schema/schemas/mtproto.tl"))),
        ("edge-generics.tl".to_owned(), "vector#1cb5c415 {t:Type} # [ t ] = Vector t;\n---functions---\ninvokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;\nmsgs_ack#62d6b459 msg_ids:Vector<long> = MsgsAck;\n".to_owned()),
        ("edge-flags.tl".to_owned(), "// LAYER 229\n/* block\n comment */ message#1 flags:# out:flags.1?true id:int reply:flags.3?MessageReplyHeader flags2:# x:flags2.30?%Y = Message;\nint ? = Int;\n---types---\nfoo.bar#deadbeef a:bytes b:int128 c:int256 d:Vector<%Y> = foo.Bar;\n".to_owned()),
    ];
    for (i, c) in chunks(&read(telegram.join("api-layer229.tl")), 24, 12)
        .into_iter()
        .enumerate()
    {
        tl.push((format!("layer229-{i:02}.tl"), c));
    }
    for (i, c) in chunks(&read(telegram.join("api-layer198.tl")), 24, 40)
        .into_iter()
        .enumerate()
    {
        tl.push((format!("layer198-{i:02}.tl"), c));
    }
    seeds.target("tl_parse", tl.into_iter().map(|(n, t)| (n, t.into_bytes())));

    // TL bytes: an arbitrary value of every 8th type of layer 229 + mtproto.tl, and the
    // handshake's real messages.
    let mut decode = Vec::new();
    let count = tl_fullschema::fuzzing::type_count();
    for index in (0..count).step_by(8) {
        if let Some((name, bytes)) =
            tl_fullschema::fuzzing::sample(index, &noise(index as u64, 512, 0xff))
        {
            if bytes.len() <= 2048 {
                decode.push((name.replace('.', "_"), bytes));
            }
        }
    }
    let (client, server) = mt::handshake_transcript(false, None);
    for (who, records) in [("client", &client), ("server", &server)] {
        for (i, packet) in mt::records(records).enumerate() {
            if let Ok((_, body)) = mtproto::handshake::unwrap_plain(packet) {
                decode.push((format!("handshake-{who}-{i}"), body.to_vec()));
            }
        }
    }
    seeds.target("tl_decode", decode);
    seeds.target(
        "tl_encode",
        (0..16).map(|i| (format!("noise-{i:02}"), noise(i, 64 << (i % 5), 0xff))),
    );

    // Transports: recorded streams carrying the handshake's packets, and a few round trips.
    let packets: Vec<Vec<u8>> = mt::records(&client).map(<[u8]>::to_vec).collect();
    let mut transport: Vec<(String, Vec<u8>)> = mt::transport_seeds(&packets)
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("stream-{i:02}"), s))
        .collect();
    for i in 0..8u64 {
        let mut seed = vec![1];
        seed.extend(noise(i, 96 + 64 * i as usize, 0xff));
        transport.push((format!("round-trip-{i}"), seed));
    }
    seeds.target("transport", transport);

    // Handshakes: recorded conversations with the fixed seeds of the raw targets.
    let (legacy, _) = mt::handshake_transcript(true, None);
    let (temp, _) = mt::handshake_transcript(false, Some(3600));
    seeds.target(
        "handshake_server",
        [
            ("client".to_owned(), client.clone()),
            ("client-legacy-rsa".to_owned(), legacy),
            ("client-temp-key".to_owned(), temp),
        ],
    );
    seeds.target("handshake_client", [("server".to_owned(), server)]);
    // Small bytes keep the evil peer fair (see `mtproto::fuzzing::handshake`): whole
    // handshakes; full-range bytes: damaged ones.
    let mut structured = Vec::new();
    for mode in 0..2u8 {
        for (i, mask) in [0x07u8, 0x07, 0x0f, 0xff].into_iter().enumerate() {
            let mut seed = vec![mode];
            seed.extend(noise(i as u64 + 10 * u64::from(mode), 1200, mask));
            structured.push((
                format!("{}-{i}", ["evil-client", "evil-server"][mode as usize]),
                seed,
            ));
        }
    }
    seeds.target("handshake", structured);

    // Sessions.
    seeds.target(
        "session",
        [0x07u8, 0x0f, 0x3f, 0xff]
            .into_iter()
            .enumerate()
            .map(|(i, mask)| (format!("noise-{i}"), noise(100 + i as u64, 1500, mask))),
    );
    seeds.target(
        "client_session",
        [0x07u8, 0x0f, 0x3f, 0xff]
            .into_iter()
            .enumerate()
            .map(|(i, mask)| (format!("noise-{i}"), noise(400 + i as u64, 1500, mask))),
    );
    seeds.target(
        "endpoint",
        mt::endpoint_seeds()
            .into_iter()
            .enumerate()
            .map(|(i, s)| (format!("conversation-{i}"), s))
            .chain(
                [0x07u8, 0x3f, 0xff]
                    .into_iter()
                    .enumerate()
                    .map(|(i, mask)| (format!("noise-{i}"), noise(500 + i as u64, 1500, mask))),
            ),
    );
    seeds.target(
        "session_ciphertext",
        [("client-packets".to_owned(), mt::session_ciphertext_seed())],
    );
    seeds.target(
        "file_parts",
        [0x07u8, 0x3f, 0xff]
            .into_iter()
            .enumerate()
            .map(|(i, mask)| (format!("noise-{i}"), noise(200 + i as u64, 600, mask))),
    );

    // The server's dispatch: small bytes favour the harness's own calls (marked messages,
    // history, difference), larger ones arbitrary calls.
    seeds.target(
        "rpc_dispatch",
        [0x07u8, 0x0f, 0x3f, 0xff]
            .into_iter()
            .enumerate()
            .map(|(i, mask)| (format!("noise-{i}"), noise(300 + i as u64, 2000, mask))),
    );

    println!("{} seed files, {} bytes", seeds.files, seeds.bytes);
}
