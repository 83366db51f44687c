//! A tansu broker (a Kafka-protocol broker, `../shared/tools/tansu` or `FIRESTEEL_TANSU`)
//! on a free loopback port, for the Kafka tests of the streaming crate and the CLI.
//! Without one, `broker()` says so and returns `None`, unless `FIRESTEEL_REQUIRE_KAFKA=1`
//! (as in CI), which makes it fail.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

/// A tansu broker on a free loopback port, killed when dropped.
pub struct Broker {
    pub child: Child,
    port: u16,
    tansu: PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tansu() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FIRESTEEL_TANSU") {
        return Some(PathBuf::from(p));
    }
    // The repository's sibling `shared/` (both crates sit one level below the root).
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/tansu");
    shared.exists().then_some(shared)
}

/// Starts a broker, or says why not (and fails if a broker is required).
pub fn broker() -> Option<Broker> {
    let Some(tansu) = tansu() else {
        assert!(
            std::env::var("FIRESTEEL_REQUIRE_KAFKA").as_deref() != Ok("1"),
            "FIRESTEEL_REQUIRE_KAFKA=1 but no tansu broker (set FIRESTEEL_TANSU)"
        );
        eprintln!("SKIPPED: no Kafka-protocol broker (tansu) found; set FIRESTEEL_TANSU");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(&tansu)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "tansu did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Broker { child, port, tansu })
}

impl Broker {
    pub fn servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let st = Command::new(&self.tansu)
            .args([
                "topic",
                "create",
                name,
                "--partitions",
                &partitions.to_string(),
            ])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Produces `values` to `partition`, one record per request.
    pub fn produce(&self, topic: &str, partition: i32, values: &[&str]) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", self.servers())
            .set("linger.ms", "0")
            .create()
            .unwrap();
        for v in values {
            producer
                .send(
                    BaseRecord::<(), str>::to(topic)
                        .partition(partition)
                        .payload(*v),
                )
                .map_err(|(e, _)| e)
                .unwrap();
            producer.flush(Duration::from_secs(10)).unwrap();
        }
    }
}
