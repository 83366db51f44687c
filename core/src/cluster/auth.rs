//! Peer authentication with a shared secret, as Spark's `spark.authenticate`.
//!
//! When the processes share a secret ([`ClusterConfig::secret`](super::ClusterConfig::secret),
//! `FIRESTEEL_SECRET`; `firesteel launch` makes a fresh one for each run), each connection
//! proves it on both sides before timely gets the socket. The connecting process sends a
//! random nonce in its hello, the accepting one answers with a nonce of its own and
//! HMAC-SHA256(secret, "accept", session, ranks, both nonces), and the connecting process
//! replies with the same over "connect". Each side checks the other's proof (in constant
//! time), so a process without the secret can neither join nor be joined, and fresh nonces
//! make an overheard proof useless on another connection. The secret itself never crosses
//! the wire. What crosses it afterwards is not encrypted.

use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::Secret;

/// The length of a nonce and of a proof.
pub(crate) const LEN: usize = 32;

/// A fresh random nonce (from the thread's cryptographically secure generator).
pub(crate) fn nonce() -> [u8; LEN] {
    let mut n = [0u8; LEN];
    rand::rng().fill_bytes(&mut n);
    n
}

/// Which side of a connection a proof is for: the two never verify each other's.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Role {
    Accept,
    Connect,
}

/// What a proof covers: the session, both ranks (connecting first) and both nonces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange<'a> {
    pub session: u64,
    pub connecting: u32,
    pub accepting: u32,
    pub connect_nonce: &'a [u8; LEN],
    pub accept_nonce: &'a [u8; LEN],
}

fn mac(secret: &Secret, role: Role, x: &Exchange<'_>) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret.0)
        .expect("HMAC takes keys of any length");
    m.update(match role {
        Role::Accept => b"firesteel accept ",
        Role::Connect => b"firesteel connect",
    });
    m.update(&x.session.to_le_bytes());
    m.update(&x.connecting.to_le_bytes());
    m.update(&x.accepting.to_le_bytes());
    m.update(x.connect_nonce);
    m.update(x.accept_nonce);
    m
}

/// The proof that the side `role` of exchange `x` holds `secret`.
pub(crate) fn proof(secret: &Secret, role: Role, x: &Exchange<'_>) -> [u8; LEN] {
    mac(secret, role, x).finalize().into_bytes().into()
}

/// Whether `got` proves that the side `role` of `x` holds `secret` (compared in constant
/// time).
pub(crate) fn verify(secret: &Secret, role: Role, x: &Exchange<'_>, got: &[u8; LEN]) -> bool {
    mac(secret, role, x).verify_slice(got).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_hold_for_the_secret_role_and_exchange_only() {
        let (a, b) = (nonce(), nonce());
        assert_ne!(a, b);
        let x = Exchange {
            session: 7,
            connecting: 1,
            accepting: 0,
            connect_nonce: &a,
            accept_nonce: &b,
        };
        let s = Secret(b"s3cret".to_vec());
        let p = proof(&s, Role::Accept, &x);
        assert!(verify(&s, Role::Accept, &x, &p));
        // Another secret, the other role, or another nonce: refused.
        assert!(!verify(&Secret(b"guess".to_vec()), Role::Accept, &x, &p));
        assert!(!verify(&s, Role::Connect, &x, &p));
        let c = nonce();
        let replayed = Exchange {
            connect_nonce: &c,
            ..x
        };
        assert!(!verify(&s, Role::Accept, &replayed, &p));
        assert_eq!(format!("{s:?}"), "Secret(..)");
    }
}
