"""``d2lgrade cluster-certs DIR``: a new course CA and one certificate per role, signed by it.

Keys are elliptic-curve (P-256: fast to make, accepted by every TLS 1.2+ peer) and written 0600 in a folder
0700; certificates say what their holder may do (the client's may only open connections).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from d2lgrade.grading.cluster_certs import CA, ROLES, CertFolder, Role


def make_certificates(folder: Path, days: int = 365) -> CertFolder:
    """A new course CA and one certificate per role, valid ``days``. Refuses to overwrite a CA already
    there: machines hold certificates signed by it, and a new CA would silently lock them out."""
    certs = CertFolder(folder)
    if certs.cert(CA).exists() or certs.key(CA).exists():
        raise FileExistsError(f"{folder} already holds a course CA ({certs.cert(CA).name}); the cluster's "
                              "machines trust certificates signed by it. To start over, remove that folder "
                              "(then copy the new files to every machine), or give another folder.")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d2lgrade course CA")])
    ca_cert = _ca_certificate(ca_key, ca_name, now, days)
    _write(certs.key(CA), _key_pem(ca_key), 0o600)
    _write(certs.cert(CA), ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _leaf_certificate(role, key, ca_key, ca_cert, now, days)
        _write(certs.key(role.name), _key_pem(key), 0o600)
        _write(certs.cert(role.name), cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return certs


def _ca_certificate(key: ec.EllipticCurvePrivateKey, name: x509.Name, now: datetime.datetime,
                    days: int) -> x509.Certificate:
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def _leaf_certificate(role: Role, key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey,
                      ca_cert: x509.Certificate, now: datetime.datetime, days: int) -> x509.Certificate:
    """A role's certificate: the client's may only open connections (a stolen client key cannot pose as a
    scheduler or worker); the scheduler's and workers' may also accept them."""
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if role.serves else [])
    name = f"d2lgrade-{role.name}"
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    """Created with its mode (a key is never readable by others, not even for an instant); never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)  # whatever the umask
