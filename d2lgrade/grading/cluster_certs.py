"""The cluster's credentials on disk: a course CA, and a certificate signed by it for each role that connects.

With these, the Dask scheduler and workers speak mutual TLS only (``tls://``): whoever has no
certificate signed by the course CA cannot connect at all, so cannot submit code, register a plugin
or join as a worker. :mod:`d2lgrade.grading.cluster_ca` makes them (``d2lgrade cluster-certs DIR``);
the files are then copied to the machines that :data:`ROLES` names. The CA's key goes to none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CA = "ca"


@dataclass(frozen=True)
class Role:
    """One kind of party in the cluster: the name of its files and the machines that get them."""

    name: str
    machines: str
    serves: bool
    """Also accepts connections (scheduler, worker), so its certificate may act as a TLS server's."""


ROLES = (
    Role("client", "the machine that runs `d2lgrade grade --cluster` (the instructor's)", serves=False),
    Role("scheduler", "the machine that runs `dask scheduler`", serves=True),
    Role("worker", "every machine that runs `dask worker`", serves=True),
)


@dataclass(frozen=True)
class CertFolder:
    """Where ``d2lgrade cluster-certs`` put the files: ``<role>.pem`` and ``<role>-key.pem`` for each role and
    the CA (``ca.pem``, which every machine gets; ``ca-key.pem``, which none does)."""

    folder: Path

    def cert(self, role: str) -> Path:
        return self.folder / f"{role}.pem"

    def key(self, role: str) -> Path:
        return self.folder / f"{role}-key.pem"

    def files_for(self, role: Role) -> tuple[Path, Path, Path]:
        """What one machine of ``role`` needs: the CA's certificate, its own certificate and its key."""
        return self.cert(CA), self.cert(role.name), self.key(role.name)
