"""The catalogue: one book, written for Titanium."""

BOOKS = {
    0: {
        "title": "Notes from a Quiet Cluster",
        "summary": (
            "A field guide to running small services well: what to watch, what to "
            "page on, and what to leave alone until morning."
        ),
        "author": "R. Okafor",
        "year": 2024,
        "type": "paperback",
        "pages": 212,
        "publisher": "Titanium Press",
        "language": "English",
        "isbn_10": "0000000000",
        "isbn_13": "978-0000000000",
    }
}

REVIEWS = {
    0: [
        ("Reader1", "Calm, practical and short: the chapter on error budgets alone is worth it."),
        ("Reader2", "Good on dashboards, thin on databases. I wanted more on backups."),
    ]
}

RATINGS = {0: {"Reader1": 5, "Reader2": 3}}
