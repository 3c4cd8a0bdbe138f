#!/usr/bin/env python3
"""The peer for item 6: Python's `cryptography` building the same CRL as Castellan's buildCrl.

    crl_peer.py <ca_cert.der> <ca_key.pkcs8.der> <entries.json> <rounds> <this_update> <next_update>
        entries.json: [[serial_hex, revoked_at_epoch_ms, reason_name], ...]; times in epoch ms.
        X.509 v2 CRL with authorityKeyIdentifier and cRLNumber, one reasonCode per entry (none for
        "unspecified", as Castellan does), signed ecdsa-with-SHA256; the DER is produced.
        The entries' datetimes and ints are prepared outside the clock (Castellan gets Date objects
        too). One untimed warm-up on the first 1,000 entries, then `rounds` timed builds; prints
        one JSON line with milliseconds per build and the DER size.
"""
import datetime
import json
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

REASONS = {
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "cACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
    "removeFromCRL": x509.ReasonFlags.remove_from_crl,
    "privilegeWithdrawn": x509.ReasonFlags.privilege_withdrawn,
    "aACompromise": x509.ReasonFlags.aa_compromise,
}


def utc(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).replace(tzinfo=None)


def build(ca_cert, ca_key, ca_ski, entries, this_update, next_update, crl_number):
    revoked = []
    for serial, at, reason in entries:
        rc = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at)
        if reason is not None:
            rc = rc.add_extension(x509.CRLReason(reason), critical=False)
        revoked.append(rc.build())
    # The builder is immutable: add_revoked_certificate() copies the list each time (quadratic,
    # ~100 s for 100,000 entries), so the list goes in through the constructor, as a careful user would.
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=ca_cert.subject,
        last_update=this_update,
        next_update=next_update,
        extensions=[
            x509.Extension(
                x509.AuthorityKeyIdentifier.oid,
                False,
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            ),
            x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(crl_number)),
        ],
        revoked_certificates=revoked,
    )
    crl = builder.sign(ca_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def main():
    ca_cert_path, ca_key_path, entries_path, rounds, this_ms, next_ms = sys.argv[1:7]
    with open(ca_cert_path, "rb") as f:
        ca_cert = x509.load_der_x509_certificate(f.read())
    with open(ca_key_path, "rb") as f:
        ca_key = serialization.load_der_private_key(f.read(), password=None)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    with open(entries_path) as f:
        raw = json.load(f)
    entries = [(int(s, 16), utc(ms), REASONS.get(r)) for s, ms, r in raw]
    this_update, next_update = utc(int(this_ms)), utc(int(next_ms))
    build(ca_cert, ca_key, ca_ski, entries[:1000], this_update, next_update, 1)  # warm-up
    times = []
    size = 0
    for i in range(int(rounds)):
        t0 = time.perf_counter()
        size = len(build(ca_cert, ca_key, ca_ski, entries, this_update, next_update, 2 + i))
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"ms": times, "bytes": size, "count": len(entries)}))


if __name__ == "__main__":
    main()
