#!/usr/bin/env python3
"""Independent verifier for Castellan's token tests (PyJWT + cryptography).

Reads one JSON request on stdin, writes one JSON reply on stdout:
  {"ok": true, ...} or {"ok": false, "error": "<ExceptionClass>", "message": "..."}.
Secrets arrive on stdin, never on the command line.

Operations:
  decode_hs256  {token, secret, leeway?}           -> verify as the ZLayer daemon does:
                HS256 only, iss == "zlayer", exp required, NO audience configured
                (so a token carrying aud is rejected), 60 s leeway by default.
  decode_jwks   {token, jwks | jwks_path, kid, alg, audience, issuer}
                -> pick the JWK by kid from PyJWKSet.from_dict and verify.
  thumbprint    {jwk} -> RFC 7638 SHA-256 thumbprint, computed by hand.
  encode_hs256  {secret, claims} -> a token as PyJWT mints it (a "foreign" minter).
  key_file_secret {path} -> the daemon's key string for a jwt_secret_zlayer.key file.
  decode_revocation_list {token, jwks, kid, alg, last_seq?, now?}
                -> the documented verifier rule for the signed revocation list: the JWS verifies
                with the JWK of that kid, typ is castellan-revocations+jwt, iat and exp are
                required and exp has not passed (at `now` if given), and seq is not lower than
                last_seq (the highest already accepted): an older list is refused as a replay.
"""
import base64
import hashlib
import json
import sys

import jwt


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


REQUIRED_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "oct": ("k", "kty")}


def thumbprint(jwk):
    members = REQUIRED_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def handle(req):
    op = req["op"]
    if op == "decode_hs256":
        token = req["token"]
        claims = jwt.decode(
            token,
            key=req["secret"],
            algorithms=["HS256"],
            issuer="zlayer",
            leeway=req.get("leeway", 60),
            options={"require": ["exp"]},
        )
        return {"claims": claims, "header": jwt.get_unverified_header(token)}
    if op == "decode_jwks":
        token = req["token"]
        if "jwks_path" in req:
            with open(req["jwks_path"], "r", encoding="utf-8") as f:
                jwks = json.load(f)
        else:
            jwks = req["jwks"]
        jwkset = jwt.PyJWKSet.from_dict(jwks)
        matches = [k for k in jwkset.keys if k.key_id == req["kid"]]
        if len(matches) != 1:
            raise LookupError("expected exactly one JWK with kid %s, found %d" % (req["kid"], len(matches)))
        claims = jwt.decode(
            token,
            key=matches[0].key,
            algorithms=[req["alg"]],
            audience=req["audience"],
            issuer=req["issuer"],
            options={"require": ["exp", "iss", "aud"]},
        )
        return {"claims": claims, "header": jwt.get_unverified_header(token)}
    if op == "thumbprint":
        return {"thumbprint": thumbprint(req["jwk"])}
    if op == "encode_hs256":
        token = jwt.encode(req["claims"], req["secret"], algorithm="HS256")
        return {"token": token if isinstance(token, str) else token.decode("ascii")}
    if op == "key_file_secret":
        with open(req["path"], "rb") as f:
            return {"secret": f.read().hex()}
    if op == "decode_revocation_list":
        token = req["token"]
        header = jwt.get_unverified_header(token)
        if header.get("typ") != "castellan-revocations+jwt":
            raise ValueError("not a Castellan revocation list (typ %r)" % header.get("typ"))
        jwkset = jwt.PyJWKSet.from_dict(req["jwks"])
        matches = [k for k in jwkset.keys if k.key_id == req["kid"]]
        if len(matches) != 1:
            raise LookupError("expected exactly one JWK with kid %s, found %d" % (req["kid"], len(matches)))
        options = {"require": ["exp", "iat"]}
        if "now" in req:
            # PyJWT checks exp against the wall clock; a test moves "now" by checking it here instead.
            options["verify_exp"] = False
        claims = jwt.decode(token, key=matches[0].key, algorithms=[req["alg"]], options=options)
        if "now" in req and claims["exp"] < req["now"]:
            raise jwt.ExpiredSignatureError("Signature has expired")
        last = req.get("last_seq")
        if last is not None and claims["seq"] < last:
            raise ValueError("revocation list #%d is older than #%d: refused as a replay" % (claims["seq"], last))
        return {"claims": claims, "header": header}
    raise ValueError("unknown op %r" % op)


def main():
    req = json.load(sys.stdin)
    try:
        reply = {"ok": True}
        reply.update(handle(req))
    except Exception as e:  # the reply names the failure; the test decides if it was expected
        reply = {"ok": False, "error": type(e).__name__, "message": str(e)}
    json.dump(reply, sys.stdout)


if __name__ == "__main__":
    main()
