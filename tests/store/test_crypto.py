"""Field encryption: AES-256-GCM with AAD binding, fresh nonces, wrapped data key."""

from __future__ import annotations

import pytest

from aptui.store import crypto
from aptui.store.crypto import FieldCipher, FieldDecryptError, Kek


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(crypto.new_data_key())


def test_round_trip(cipher):
    blob = cipher.encrypt("profiles", "row1", "api_key", "sk-secret-value")
    assert b"sk-secret-value" not in blob
    assert cipher.decrypt("profiles", "row1", "api_key", blob) == "sk-secret-value"


def test_fresh_nonce_per_write(cipher):
    a = cipher.encrypt("profiles", "row1", "api_key", "same")
    b = cipher.encrypt("profiles", "row1", "api_key", "same")
    assert a != b
    assert a[1:13] != b[1:13]  # the 96-bit nonces differ


@pytest.mark.parametrize(
    ("table", "row", "column"),
    [("profiles", "row2", "api_key"), ("sm_connections", "row1", "api_key"), ("profiles", "row1", "other")],
)
def test_ciphertext_is_bound_to_table_row_and_column(cipher, table, row, column):
    blob = cipher.encrypt("profiles", "row1", "api_key", "value")
    with pytest.raises(FieldDecryptError) as info:
        cipher.decrypt(table, row, column, blob)
    assert "value" not in str(info.value).replace("row", "")


def test_tampered_byte_is_rejected(cipher):
    blob = bytearray(cipher.encrypt("profiles", "r", "api_key", "value"))
    blob[-1] ^= 0x01
    with pytest.raises(FieldDecryptError, match="authentication failed"):
        cipher.decrypt("profiles", "r", "api_key", bytes(blob))


@pytest.mark.parametrize("blob", [b"", b"\x01short", b"\x02" + b"\x00" * 40])
def test_garbage_is_rejected(cipher, blob):
    with pytest.raises(FieldDecryptError):
        cipher.decrypt("profiles", "r", "api_key", blob)


def test_other_data_key_cannot_decrypt(cipher):
    blob = cipher.encrypt("profiles", "r", "api_key", "value")
    with pytest.raises(FieldDecryptError):
        FieldCipher(crypto.new_data_key()).decrypt("profiles", "r", "api_key", blob)


def test_wrap_and_unwrap_data_key():
    kek = Kek(key=crypto.new_data_key(), kind="keyfile", kdf={})
    other = Kek(key=crypto.new_data_key(), kind="keyfile", kdf={})
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(kek, data_key)
    assert crypto.unwrap_data_key(kek, wrapped) == data_key
    assert crypto.unwrap_data_key(other, wrapped) is None
    assert data_key not in wrapped


def test_key_file_is_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "k" / "aptui.key"
    kek = crypto.write_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert crypto.read_key_file(path).key == kek.key
    with pytest.raises(Exception, match="already exists"):
        crypto.write_key_file(path)
    assert crypto.read_key_file(path).key == kek.key


def test_passphrase_kdf_is_deterministic_per_salt():
    params = crypto.new_passphrase_params()
    assert params["name"] == "argon2id"
    a = crypto.derive_passphrase_kek("correct horse", params)
    b = crypto.derive_passphrase_kek("correct horse", params)
    c = crypto.derive_passphrase_kek("wrong horse", params)
    assert a.key == b.key != c.key
    assert "correct" not in repr(a)


def test_reprs_hide_keys(cipher):
    assert "hidden" in repr(cipher)
    kek = Kek(key=b"k" * 32, kind="keyfile", kdf={})
    assert "kkkk" not in repr(kek)
