# Benchmarks and fault drills of openclaw.gcp (`make bench`); not part of the built collection.
