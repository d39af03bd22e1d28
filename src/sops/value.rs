//! SOPS's encrypted values, `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, and the
//! data key that opens them (`spec/import-sops.md`).

use std::fmt;

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::{Zeroize, Zeroizing};

/// AES-256-GCM with the 32-byte nonce SOPS uses (GCM hashes a nonce that is not 12
/// bytes long into its initial counter).
type SopsCipher = AesGcm<Aes256, U32>;

/// The type SOPS recorded for an encrypted value, so the plaintext gets it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncType {
    /// `str`: a string.
    Str,
    /// `int`: an integer, in decimal.
    Int,
    /// `float`: a floating-point number.
    Float,
    /// `bool`: a boolean.
    Bool,
    /// `bytes`: raw bytes (SOPS's binary files).
    Bytes,
    /// `comment`: the text of a comment.
    Comment,
}

impl EncType {
    /// The name SOPS writes after `type:`.
    pub fn name(self) -> &'static str {
        match self {
            EncType::Str => "str",
            EncType::Int => "int",
            EncType::Float => "float",
            EncType::Bool => "bool",
            EncType::Bytes => "bytes",
            EncType::Comment => "comment",
        }
    }

    fn from_name(s: &str) -> Option<EncType> {
        [
            EncType::Str,
            EncType::Int,
            EncType::Float,
            EncType::Bool,
            EncType::Bytes,
            EncType::Comment,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }
}

/// One SOPS encrypted value: AES-256-GCM ciphertext, its 32-byte nonce, its tag
/// and the type of the plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncValue {
    /// The ciphertext (as long as the plaintext).
    pub data: Vec<u8>,
    /// The nonce.
    pub iv: [u8; 32],
    /// The GCM tag.
    pub tag: [u8; 16],
    /// The plaintext's type.
    pub ty: EncType,
}

/// Whether a string is meant to be a SOPS encrypted value: it begins with `ENC[`.
/// Such a string that does not parse is an error, never plain text.
pub fn looks_encrypted(s: &str) -> bool {
    s.starts_with("ENC[")
}

impl EncValue {
    /// Parses `ENC[AES256_GCM,data:B64,iv:B64,tag:B64,type:T]`: the fields in this
    /// order, canonical padded base64, a 32-byte nonce, a 16-byte tag and a type
    /// SOPS writes. The reason of a refusal never repeats the text.
    pub fn parse(s: &str) -> Result<EncValue, &'static str> {
        let body = s
            .strip_prefix("ENC[")
            .and_then(|r| r.strip_suffix(']'))
            .ok_or("not of the form ENC[…]")?;
        let rest = body
            .strip_prefix("AES256_GCM,")
            .ok_or("not encrypted with AES256_GCM, the only cipher SOPS uses")?;
        let mut fields = rest.split(',');
        let mut field = |name: &'static str, missing: &'static str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .ok_or(missing)
        };
        let data = field("data:", "the data field is missing")?;
        let iv = field("iv:", "the iv field is missing")?;
        let tag = field("tag:", "the tag field is missing")?;
        let ty = field("type:", "the type field is missing")?;
        if fields.next().is_some() {
            return Err("has a field after type");
        }
        let decode = |b64: &str, bad: &'static str| STANDARD.decode(b64).map_err(|_| bad);
        let data = decode(data, "the data field is not base64")?;
        if data.is_empty() {
            return Err("the data field is empty");
        }
        let iv: [u8; 32] = decode(iv, "the iv field is not base64")?
            .try_into()
            .map_err(|_| "the iv is not 32 bytes long")?;
        let tag: [u8; 16] = decode(tag, "the tag field is not base64")?
            .try_into()
            .map_err(|_| "the tag is not 16 bytes long")?;
        let ty = EncType::from_name(ty).ok_or("the type is not one SOPS writes")?;
        Ok(EncValue { data, iv, tag, ty })
    }

    /// Decrypts with the data key and SOPS's associated data (`a:b:c:` for a
    /// value, the `lastmodified` text for the MAC). `None` when the tag does not
    /// verify: the value was altered, moved, or belongs to another data key.
    pub fn decrypt(&self, key: &DataKey, aad: &str) -> Option<Zeroizing<Vec<u8>>> {
        let cipher = SopsCipher::new_from_slice(&key.0).ok()?;
        let mut msg = Zeroizing::new(Vec::with_capacity(self.data.len() + 16));
        msg.extend_from_slice(&self.data);
        msg.extend_from_slice(&self.tag);
        let payload = Payload {
            msg: &msg,
            aad: aad.as_bytes(),
        };
        cipher
            .decrypt(Nonce::<U32>::from_slice(&self.iv), payload)
            .ok()
            .map(Zeroizing::new)
    }

    /// Encrypts `plaintext` as SOPS does (for tests and fuzzing; the importer only
    /// decrypts).
    pub fn encrypt(
        key: &DataKey,
        plaintext: &[u8],
        aad: &str,
        iv: [u8; 32],
        ty: EncType,
    ) -> Option<EncValue> {
        let cipher = SopsCipher::new_from_slice(&key.0).ok()?;
        let payload = Payload {
            msg: plaintext,
            aad: aad.as_bytes(),
        };
        let mut out = cipher
            .encrypt(Nonce::<U32>::from_slice(&iv), payload)
            .ok()?;
        let tag: [u8; 16] = out.split_off(out.len().checked_sub(16)?).try_into().ok()?;
        Some(EncValue {
            data: out,
            iv,
            tag,
            ty,
        })
    }
}

impl fmt::Display for EncValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            STANDARD.encode(&self.data),
            STANDARD.encode(self.iv),
            STANDARD.encode(self.tag),
            self.ty.name()
        )
    }
}

/// A SOPS file's 32-byte data key, wiped when dropped.
pub struct DataKey([u8; 32]);

impl DataKey {
    /// The key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(bytes)
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_round_trips_and_is_bound_to_its_place() {
        let key = DataKey::from_bytes([3; 32]);
        let v = EncValue::encrypt(&key, b"hunter2", "db:password:", [9; 32], EncType::Str).unwrap();
        let text = v.to_string();
        assert_eq!(EncValue::parse(&text).unwrap(), v);
        assert_eq!(
            v.decrypt(&key, "db:password:").unwrap().as_slice(),
            b"hunter2"
        );
        assert!(v.decrypt(&key, "db:user:").is_none());
        assert!(
            v.decrypt(&DataKey::from_bytes([4; 32]), "db:password:")
                .is_none()
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        let good = "ENC[AES256_GCM,data:KhLDS2R2,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]";
        assert!(EncValue::parse(good).is_ok());
        for bad in [
            "ENC[AES256_GCM,data:KhLDS2R2,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str",
            "ENC[AES128_GCM,data:KhLDS2R2,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]",
            "ENC[AES256_GCM,data:,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]",
            "ENC[AES256_GCM,data:KhLDS2R2,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]",
            "ENC[AES256_GCM,data:KhLDS2R2,iv:AAAA,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]",
            "ENC[AES256_GCM,data:KhLDS2R2,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:list]",
            "ENC[AES256_GCM,data:KhLDS2R2,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str,x:y]",
            "ENC[AES256_GCM,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,data:KhLDS2R2,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]",
            // Non-canonical base64: the last character carries bits that must be zero.
            "ENC[AES256_GCM,data:KhLDS2R3,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmV=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]",
        ] {
            assert!(EncValue::parse(bad).is_err(), "{bad}");
        }
    }
}
