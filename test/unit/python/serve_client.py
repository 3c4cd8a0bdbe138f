#!/usr/bin/env python3
"""A verifier that talks to a running `castellan serve`, as a third party would: PyJWT's
PyJWKClient for the JWKS, plain urllib for introspection. No Castellan code.

Reads one JSON request on stdin, writes one JSON reply on stdout. Secrets arrive on stdin.

  jwks_verify  {url, token, alg, audience, issuer}
               -> {"ok": true, "kid": ..., "claims": {...}} or {"ok": false, "error": ...}
  introspect   {url, token?, client_id, client_secret, body?, content_type?}
               -> {"status": <HTTP status>, "body": "<raw response body>"}
"""
import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import jwt
from jwt import PyJWKClient


def jwks_verify(req):
    client = PyJWKClient(req["url"], cache_keys=False, cache_jwk_set=False)
    try:
        key = client.get_signing_key_from_jwt(req["token"])
        claims = jwt.decode(
            req["token"],
            key.key,
            algorithms=[req["alg"]],
            audience=req["audience"],
            issuer=req["issuer"],
            options={"require": ["exp", "iat", "sub"]},
        )
        return {"ok": True, "kid": key.key_id, "claims": claims}
    except Exception as exc:  # the test asserts on the class name
        return {"ok": False, "error": type(exc).__name__, "message": str(exc)}


def introspect(req):
    if "body" in req:
        body = req["body"].encode("latin-1")
    else:
        body = urllib.parse.urlencode({"token": req["token"], "token_type_hint": "access_token"}).encode("ascii")
    creds = f'{urllib.parse.quote(req["client_id"], safe="")}:{urllib.parse.quote(req["client_secret"], safe="")}'
    request = urllib.request.Request(
        req["url"],
        data=body,
        method="POST",
        headers={
            "Content-Type": req.get("content_type", "application/x-www-form-urlencoded"),
            "Authorization": "Basic " + base64.b64encode(creds.encode("utf-8")).decode("ascii"),
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return {"status": resp.status, "body": resp.read().decode("utf-8")}
    except urllib.error.HTTPError as err:
        return {"status": err.code, "body": err.read().decode("utf-8")}


def main():
    req = json.load(sys.stdin)
    op = req.pop("op")
    result = {"jwks_verify": jwks_verify, "introspect": introspect}[op](req)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
