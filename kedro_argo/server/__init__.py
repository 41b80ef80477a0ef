"""Talking to the Argo Server: the REST client (:mod:`.client`) and what the cluster commands
do with workflows it returns (:mod:`.status`)."""
