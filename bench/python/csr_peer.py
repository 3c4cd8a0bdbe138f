#!/usr/bin/env python3
"""The peer for item 5: Python's `cryptography` doing what Castellan's signWorkerCsr does.

    csr_peer.py make <count> <out.json>
        Writes <count> worker CSRs (P-256 keys, two DNS names and one IP address each) as PEM.
    csr_peer.py run <ca_cert.der> <ca_key.pkcs8.der> <csrs.json> [rounds]
        Per CSR: parse the PEM, verify its signature, check the key type and the names, build a
        leaf with the same subject and extensions as Castellan (subjectAltName of the accepted
        names, keyUsage digitalSignature+keyEncipherment (critical), extKeyUsage clientAuth+serverAuth,
        subjectKeyIdentifier, authorityKeyIdentifier), sign it ecdsa-with-SHA256 with the CA key,
        and produce its DER, PEM and SHA-256 fingerprint. The CA is loaded once, outside the clock.
        One untimed warm-up pass, then `rounds` timed passes; prints one JSON line.
"""
import datetime
import ipaddress
import json
import os
import re
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def make(count, out):
    csrs = []
    for i in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"node-{i}")]))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName(f"node-{i}.workers.example.internal"),
                        x509.DNSName(f"node-{i}"),
                        x509.IPAddress(ipaddress.ip_address(f"10.{(i >> 8) & 255}.{i & 255}.7")),
                    ]
                ),
                critical=False,
            )
        )
        csr = builder.sign(key, hashes.SHA256())
        csrs.append(csr.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    with open(out, "w") as f:
        json.dump(csrs, f)


def dns_ok(name):
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if labels[0] == "*":
        return False
    return all(DNS_LABEL.match(label) for label in labels)


def key_ok(pub):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return pub.curve.name in ("secp256r1", "secp384r1")
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return True
    if isinstance(pub, rsa.RSAPublicKey):
        numbers = pub.public_numbers()
        return pub.key_size >= 2048 and numbers.n % 2 == 1 and numbers.e % 2 == 1 and numbers.e >= 65537
    return False


def dns_policy_ok(name, node_id):
    # Castellan's default SAN policy: no localhost, no other worker's name.
    lower = name.lower()
    if lower == "localhost" or lower.endswith(".localhost"):
        return False
    own = f"worker-{node_id.lower()}"
    return not lower.startswith("worker-") or lower == own or lower.startswith(own + ".")


def ip_policy_ok(ip):
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_unspecified or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip == ipaddress.ip_address("255.255.255.255")
                or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("0.0.0.0/8")))


def sign_one(pem, node_id, ca_cert, ca_key, ca_ski):
    csr = x509.load_pem_x509_csr(pem)
    if not csr.is_signature_valid:
        raise ValueError("CSR signature does not verify")
    pub = csr.public_key()
    if not key_ok(pub):
        raise ValueError("key type not accepted")
    accepted = []
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for name in san:
            if isinstance(name, x509.DNSName):
                if not dns_ok(name.value) or not dns_policy_ok(name.value, node_id):
                    raise ValueError("bad DNS name")
                accepted.append(name)
            elif isinstance(name, x509.IPAddress):
                if not ip_policy_ok(name.value):
                    raise ValueError("IP address refused")
                accepted.append(name)
            else:
                raise ValueError("SAN type not accepted")
    except x509.ExtensionNotFound:
        pass
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    serial = bytearray(os.urandom(16))
    serial[0] = (serial[0] & 0x7F) | 0x40
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, f"worker-{node_id}"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ZLayer Worker"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(pub)
        .serial_number(int.from_bytes(serial, "big"))
        .not_valid_before(now - datetime.timedelta(seconds=60))
        .not_valid_after(min(now + datetime.timedelta(days=90), ca_cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)))
    )
    if accepted:
        builder = builder.add_extension(x509.SubjectAlternativeName(accepted), critical=False)
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    cert = builder.sign(ca_key, hashes.SHA256())
    der = cert.public_bytes(serialization.Encoding.DER)
    cert.public_bytes(serialization.Encoding.PEM)
    cert.fingerprint(hashes.SHA256())
    return cert, der


def run(ca_cert_path, ca_key_path, csrs_path, rounds):
    with open(ca_cert_path, "rb") as f:
        ca_cert = x509.load_der_x509_certificate(f.read())
    with open(ca_key_path, "rb") as f:
        ca_key = serialization.load_der_private_key(f.read(), password=None)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    with open(csrs_path) as f:
        csrs = [pem.encode("ascii") for pem in json.load(f)]
    cert = None
    for i, pem in enumerate(csrs):  # warm-up
        cert, _ = sign_one(pem, f"n{i}", ca_cert, ca_key, ca_ski)
    per_sec = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for i, pem in enumerate(csrs):
            sign_one(pem, f"n{i}", ca_cert, ca_key, ca_ski)
        per_sec.append(len(csrs) / (time.perf_counter() - t0))
    extensions = [[e.oid.dotted_string, e.critical] for e in cert.extensions]
    print(json.dumps({"per_sec": per_sec, "count": len(csrs), "extensions": extensions, "cryptography": __import__("cryptography").__version__}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    else:
        raise SystemExit(__doc__)
