"""The platform's benchmarks (`make bench`, or `python -m bench` from the checkout): each
figure beside a baseline measured in the same run on the same data. Not shipped, not part
of `make test`; BENCHMARKS.md records the results."""
