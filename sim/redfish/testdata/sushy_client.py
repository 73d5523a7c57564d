"""Drives sim/redfish with OpenStack's sushy (Debian's python3-sushy).

Usage: sushy_client.py URL USER PASSWORD COMMAND [ARGS...]; prints one JSON
object with what sushy returned. Commands:
  csr COLLECTION BITS     session login, service root, GenerateCSR through
                          the CertificateService's action target,
                          CertificateLocations, logout
  replace CERT_URI FILE BAD_FILE
                          ReplaceCertificate with BAD_FILE (refused) then FILE
  collection COLLECTION FILE
                          Basic auth, POST to the collection (create_member),
                          read the new member, try to delete it
"""
import json
import logging
import sys

import sushy
from sushy import auth, exceptions
from sushy.resources.certificateservice import certificate

logging.disable(logging.CRITICAL)


def http_error(e):
    return {"status": e.status_code, "code": e.code, "detail": e.detail}


def cert_facts(c):
    return {"identity": c.identity, "path": c.path, "fingerprint": c.fingerprint,
            "fingerprint_hash_algorithm": c.fingerprint_hash_algorithm,
            "subject_cn": c.subject.common_name if c.subject else None,
            "valid_not_after": c.valid_not_after.isoformat() if c.valid_not_after else None,
            "certificate_type": str(c.certificate_type), "certificate_string": c.certificate_string}


def main():
    url, user, password, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    out = {}
    if cmd == "collection":
        root = sushy.Sushy(url, verify=False, auth=auth.BasicAuth(user, password))
    else:
        root = sushy.Sushy(url, verify=False, auth=auth.SessionAuth(user, password))
        out["session"] = root._auth.get_session_resource_id()
    out["product"] = root.product
    out["redfish_version"] = root.redfish_version
    svc = root.get_certificate_service()
    out["service"] = svc.identity
    if cmd == "csr":
        target = svc._actions.generate_csr.target_uri
        resp = root._conn.post(target, data={
            "CertificateCollection": {"@odata.id": args[0]}, "CommonName": "ilo01.example.com",
            "AlternativeNames": ["ilo01.example.com", "oob01.example.com"], "Country": "US", "State": "TX",
            "City": "Houston", "Organization": "Example Inc", "OrganizationalUnit": "Infra",
            "KeyPairAlgorithm": "TPM_ALG_RSA", "KeyBitLength": int(args[1])})
        out["csr"] = resp.json()["CSRString"]
        out["locations"] = [cert_facts(c) for c in svc.certificate_locations.get_members()]
        try:
            root._conn.post(target, data={"CertificateCollection": {"@odata.id": args[0]}, "CommonName": "x",
                                          "KeyPairAlgorithm": "TPM_ALG_SM2"})
        except exceptions.HTTPError as e:
            out["bad_algorithm"] = http_error(e)
    elif cmd == "replace":
        with open(args[2]) as f:
            try:
                svc.replace_certificate(args[0], f.read(), sushy.CertificateType.PEM)
            except exceptions.HTTPError as e:
                out["foreign_key"] = http_error(e)
        with open(args[1]) as f:
            svc.replace_certificate(args[0], f.read(), sushy.CertificateType.PEM)
        out["replaced"] = True
    elif cmd == "collection":
        coll = certificate.CertificateCollection(root._conn, args[0], redfish_version=root.redfish_version,
                                                 registries=root.lazy_registries, root=root)
        with open(args[1]) as f:
            new = coll.create_member(f.read(), sushy.CertificateType.PEM)
        out["created"] = cert_facts(new)
        out["members"] = sorted(coll.members_identities)
        try:
            new.delete()
        except exceptions.HTTPError as e:
            out["delete"] = http_error(e)
    if cmd != "collection":
        try:
            root._auth.close()
        except exceptions.ConnectionError:
            # iLO restarts its web server after an install; the session
            # went with it.
            out["logout_refused"] = True
        root._auth = None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
