"""Titanium's Bookinfo: the call graph of the mesh demo operators know from
Istio's documentation, written for Titanium (none of Istio's sources).

productpage -> details; productpage -> reviews; reviews v2 and v3 -> ratings.
reviews v1 shows no ratings, v2 shows them black, v3 red. One package and one
image; BOOKINFO_SERVICE picks the service a process serves."""
