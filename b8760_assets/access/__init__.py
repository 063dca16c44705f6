"""Access to the platform's buckets: external connectors' conditional grants, participants'
download grants, their evaluation as GCS IAM does it, drift from the configuration, and the
onboarding that applies them (docs/onboarding.md).

names, policy, iam_model and audit are pure (no network); gcp and onboarding call GCP.
"""
