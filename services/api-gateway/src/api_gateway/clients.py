"""Which address a request comes from, given the trusted proxies in front."""


def client_address(peer: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """The address `trusted_hops` proxies saw connecting: entries further left
    in X-Forwarded-For were written by the client and can be forged."""
    chain = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    chain.append(peer or "unknown")
    if trusted_hops <= 0:
        return chain[-1]
    index = len(chain) - 1 - trusted_hops
    return chain[max(index, 0)]
