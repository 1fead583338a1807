//! SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL does it: passwords are stored only as the
//! verifier `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (the format of
//! `pg_authid.rolpassword`, so hashes move between PostgreSQL and Sightline), and the server
//! proves it knows the verifier while the client proves it knows the password.

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::{digest, hmac, pbkdf2};

/// PostgreSQL's default iteration count (`scram_iterations`).
pub const DEFAULT_ITERATIONS: u32 = 4096;
pub const MECHANISM: &str = "SCRAM-SHA-256";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScramError {
    #[error(
        "not a SCRAM-SHA-256 verifier (expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, as printed by `sightline passwd`)"
    )]
    BadVerifier,
    #[error("malformed SCRAM message: {0}")]
    Protocol(&'static str),
    #[error("channel binding is not supported; connect with channel_binding=disable or prefer")]
    ChannelBinding,
    #[error("password authentication failed")]
    WrongPassword,
}

/// What the server stores for a user.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(SCRAM-SHA-256, …)")
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Equality in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Verifier {
    /// The verifier for `password` with a fresh random salt.
    pub fn new(password: &str, iterations: u32) -> Self {
        Self::with_salt(password, &rand::random::<[u8; 16]>(), iterations)
    }

    pub fn with_salt(password: &str, salt: &[u8], iterations: u32) -> Self {
        // As PostgreSQL: SASLprep the password, or use it as it is when that fails.
        let normalized = stringprep::saslprep(password)
            .map(|p| p.into_owned())
            .unwrap_or_else(|_| password.to_owned());
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN),
            salt,
            normalized.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, &[b"Client Key"]);
        Verifier {
            iterations: iterations.max(1),
            salt: salt.to_vec(),
            stored_key: sha256(&client_key),
            server_key: hmac_sha256(&salted, &[b"Server Key"]),
        }
    }

    pub fn parse(text: &str) -> Result<Self, ScramError> {
        let rest = text
            .trim()
            .strip_prefix("SCRAM-SHA-256$")
            .ok_or(ScramError::BadVerifier)?;
        let (params, keys) = rest.split_once('$').ok_or(ScramError::BadVerifier)?;
        let (iterations, salt) = params.split_once(':').ok_or(ScramError::BadVerifier)?;
        let (stored, server) = keys.split_once(':').ok_or(ScramError::BadVerifier)?;
        let iterations: u32 = iterations.parse().map_err(|_| ScramError::BadVerifier)?;
        let salt = B64.decode(salt).map_err(|_| ScramError::BadVerifier)?;
        let key = |s: &str| -> Result<[u8; 32], ScramError> {
            B64.decode(s)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
                .ok_or(ScramError::BadVerifier)
        };
        if iterations == 0 || salt.is_empty() {
            return Err(ScramError::BadVerifier);
        }
        Ok(Verifier {
            iterations,
            salt,
            stored_key: key(stored)?,
            server_key: key(server)?,
        })
    }

    /// A stand-in for a user that does not exist, derived from `secret` and the name so the
    /// same name always gets the same salt: the exchange then looks exactly like a real user's
    /// with a wrong password, and does not reveal which users exist.
    pub fn mock(secret: &[u8], user: &str) -> Self {
        let salt = hmac_sha256(secret, &[b"salt", user.as_bytes()]);
        Verifier {
            iterations: DEFAULT_ITERATIONS,
            salt: salt[..16].to_vec(),
            stored_key: hmac_sha256(secret, &[b"stored", user.as_bytes()]),
            server_key: hmac_sha256(secret, &[b"server", user.as_bytes()]),
        }
    }
}

impl std::fmt::Display for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }
}

/// The server side of one exchange, after the client's first message.
pub struct ServerExchange {
    verifier: Verifier,
    /// The user is unknown: the proof is checked (same work) and then always refused.
    mock: bool,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// Splits `a=value` SCRAM attributes, checking the expected letter.
fn attribute(part: Option<&str>, name: char) -> Result<&str, ScramError> {
    part.and_then(|p| p.strip_prefix(name))
        .and_then(|p| p.strip_prefix('='))
        .ok_or(ScramError::Protocol("unexpected attribute"))
}

impl ServerExchange {
    /// Reads client-first-message; returns the exchange and server-first-message.
    pub fn start(
        client_first: &[u8],
        verifier: Verifier,
        mock: bool,
    ) -> Result<(Self, String), ScramError> {
        let text =
            std::str::from_utf8(client_first).map_err(|_| ScramError::Protocol("not UTF-8"))?;
        // gs2-header: cbind flag, optional authzid, then the bare message.
        let (flag, rest) = text
            .split_once(',')
            .ok_or(ScramError::Protocol("missing GS2 header"))?;
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err(ScramError::ChannelBinding),
            _ => return Err(ScramError::Protocol("bad channel-binding flag")),
        }
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or(ScramError::Protocol("missing GS2 header"))?;
        if !authzid.is_empty() {
            return Err(ScramError::Protocol(
                "authorization identity is not supported",
            ));
        }
        let mut parts = bare.split(',');
        let first = parts.next();
        if first.is_some_and(|p| p.starts_with("m=")) {
            return Err(ScramError::Protocol(
                "mandatory extensions are not supported",
            ));
        }
        // PostgreSQL ignores the SCRAM user name: the startup packet's user is the one checked.
        attribute(first, 'n')?;
        let client_nonce = attribute(parts.next(), 'r')?;
        if client_nonce.is_empty()
            || !client_nonce
                .chars()
                .all(|c| c.is_ascii_graphic() && c != ',')
        {
            return Err(ScramError::Protocol("bad nonce"));
        }
        let nonce = format!("{client_nonce}{}", B64.encode(rand::random::<[u8; 18]>()));
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        Ok((
            ServerExchange {
                verifier,
                mock,
                gs2_header: format!("{flag},{authzid},"),
                client_first_bare: bare.to_owned(),
                server_first: server_first.clone(),
                nonce,
            },
            server_first,
        ))
    }

    /// Reads client-final-message; on a valid proof returns server-final-message.
    pub fn finish(self, client_final: &[u8]) -> Result<String, ScramError> {
        let text =
            std::str::from_utf8(client_final).map_err(|_| ScramError::Protocol("not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or(ScramError::Protocol("missing proof"))?;
        let mut parts = without_proof.split(',');
        let binding = attribute(parts.next(), 'c')?;
        let nonce = attribute(parts.next(), 'r')?;
        if B64.decode(binding).ok().as_deref() != Some(self.gs2_header.as_bytes()) {
            return Err(ScramError::ChannelBinding);
        }
        if nonce != self.nonce {
            return Err(ScramError::Protocol("nonce mismatch"));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Protocol("proof is not base64"))?;
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let signature = hmac_sha256(&self.verifier.stored_key, &[auth_message.as_bytes()]);
        if proof.len() != signature.len() {
            return Err(ScramError::WrongPassword);
        }
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        let valid = same(&sha256(&client_key), &self.verifier.stored_key);
        if !valid || self.mock {
            return Err(ScramError::WrongPassword);
        }
        let server_signature = hmac_sha256(&self.verifier.server_key, &[auth_message.as_bytes()]);
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3's example exchange (user "user", password "pencil").
    #[test]
    fn rfc7677_example() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let verifier = Verifier::with_salt("pencil", &salt, 4096);
        let client_first = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
        let (mut exchange, _) = ServerExchange::start(client_first, verifier, false).unwrap();
        // Replay the RFC's server nonce instead of our random one.
        exchange.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        exchange.server_first = format!("r={},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", exchange.nonce);
        let final_message = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(
            exchange.finish(final_message.as_bytes()).unwrap(),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn verifier_round_trips_and_rejects_junk() {
        let v = Verifier::new("s3cret", 4096);
        assert_eq!(Verifier::parse(&v.to_string()).unwrap(), v);
        for bad in [
            "",
            "md5abc",
            "SCRAM-SHA-256$4096:c2FsdA==$abc:def",
            "SCRAM-SHA-256$x:c2FsdA==$",
        ] {
            assert_eq!(Verifier::parse(bad), Err(ScramError::BadVerifier), "{bad}");
        }
    }

    #[test]
    fn wrong_password_and_unknown_user_fail_alike() {
        let stored = Verifier::new("right", 4096);
        let attempt = |verifier: Verifier, mock: bool, password: &str| {
            let (exchange, server_first) =
                ServerExchange::start(b"n,,n=,r=abcdef", verifier, mock).unwrap();
            let nonce = server_first
                .split(',')
                .next()
                .unwrap()
                .trim_start_matches("r=");
            let salt = B64
                .decode(
                    server_first
                        .split(",s=")
                        .nth(1)
                        .unwrap()
                        .split(',')
                        .next()
                        .unwrap(),
                )
                .unwrap();
            let client = Verifier::with_salt(password, &salt, 4096);
            // Client side of RFC 5802: ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).
            let mut salted = [0u8; 32];
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA256,
                NonZeroU32::new(4096).unwrap(),
                &salt,
                password.as_bytes(),
                &mut salted,
            );
            let client_key = hmac_sha256(&salted, &[b"Client Key"]);
            let without_proof = format!("c=biws,r={nonce}");
            let auth = format!("n=,r=abcdef,{server_first},{without_proof}");
            let sig = hmac_sha256(&client.stored_key, &[auth.as_bytes()]);
            let proof: Vec<u8> = client_key.iter().zip(sig).map(|(k, s)| k ^ s).collect();
            exchange.finish(format!("{without_proof},p={}", B64.encode(proof)).as_bytes())
        };
        assert!(attempt(stored.clone(), false, "right").is_ok());
        assert_eq!(
            attempt(stored, false, "wrong"),
            Err(ScramError::WrongPassword)
        );
        let mock = Verifier::mock(b"secret", "nobody");
        assert_eq!(mock, Verifier::mock(b"secret", "nobody"));
        assert_eq!(
            attempt(mock, true, "anything"),
            Err(ScramError::WrongPassword)
        );
        assert_eq!(
            ServerExchange::start(
                b"p=tls-server-end-point,,n=,r=x",
                Verifier::new("a", 4096),
                false
            )
            .err(),
            Some(ScramError::ChannelBinding)
        );
    }
}
