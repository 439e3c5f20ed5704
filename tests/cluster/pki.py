"""The simulated cluster's certificate authority and the credentials it signs.

The API server runs with RBAC and client-certificate authentication, as a real
one does, so every component, the admin and the real node's kubelet, kube-proxy
and CoreDNS need a certificate of their own, and the tools a kubeconfig that
carries it. Certificates are made fresh for each cluster: nothing to keep or
rotate.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    server_names: tuple[list[str], list[str]] | None = None,
    client: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name = issuer[0].subject if issuer else subject
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        ).add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        usages = []
        if server_names:
            dns, ips = server_names
            sans = [x509.DNSName(d) for d in dns] + [
                x509.IPAddress(ipaddress.ip_address(i)) for i in ips
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            usages.append(x509.ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(x509.ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


@dataclass
class Credential:
    cert: Path
    key: Path


def _write(
    pki: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Credential:
    (pki / f"{name}.crt").write_bytes(_pem_cert(cert))
    (pki / f"{name}.key").write_bytes(_pem_key(key))
    (pki / f"{name}.key").chmod(0o600)
    return Credential(pki / f"{name}.crt", pki / f"{name}.key")


def make_pki(pki: Path, service_cidr: str) -> dict[str, Credential]:
    """A CA, the API server's serving cert, one client cert per component, and
    the service-account signing key pair. EC keys: quick to generate. The
    serving cert names the first address of `service_cidr`, the `kubernetes`
    Service's ClusterIP, by which pods reach the API server."""
    pki.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue(_name("titanium-sim-ca"), ca_key, None)
    creds = {"ca": _write(pki, "ca", ca_cert, ca_key)}
    first_service_ip = str(next(ipaddress.ip_network(service_cidr).hosts()))
    server_dns = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    identities = {
        "apiserver": (_name("kube-apiserver"), (server_dns, ["127.0.0.1", first_service_ip])),
        # system:masters is what makes this the cluster admin under RBAC.
        "admin": (_name("titanium-admin", "system:masters"), None),
        "controller-manager": (_name("system:kube-controller-manager"), None),
        "scheduler": (_name("system:kube-scheduler"), None),
        # kwok writes node and pod status and deletes pods: a kubelet's rights
        # are per node, so give the simulator the admin group instead.
        "kwok": (_name("titanium-kwok", "system:masters"), None),
    }
    for name, (subject, server_names) in identities.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(
            subject,
            key,
            (ca_cert, ca_key),
            server_names=server_names,
            client=server_names is None,
        )
        creds[name] = _write(pki, name, cert, key)

    sa_key = ec.generate_private_key(ec.SECP256R1())
    (pki / "sa.key").write_bytes(_pem_key(sa_key))
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return creds


def issue_client(pki: Path, name: str, common_name: str, organization: str | None) -> Credential:
    """A client certificate signed by the CA that make_pki wrote in `pki`."""
    ca_cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(_name(common_name, organization), key, (ca_cert, ca_key), client=True)
    return _write(pki, name, cert, key)


def write_kubeconfig(path: Path, server: str, ca: Path, user: Credential, name: str) -> Path:
    """A self-contained kubeconfig (certificates inlined), so it can be copied."""

    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "titanium-sim",
                "cluster": {"server": server, "certificate-authority-data": b64(ca)},
            }
        ],
        "users": [
            {
                "name": name,
                "user": {
                    "client-certificate-data": b64(user.cert),
                    "client-key-data": b64(user.key),
                },
            }
        ],
        "contexts": [
            {"name": "titanium-sim", "context": {"cluster": "titanium-sim", "user": name}}
        ],
        "current-context": "titanium-sim",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: kubectl, helm, kwok and the Python client all read it.
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path
