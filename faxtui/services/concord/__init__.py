"""The Concord FaxWS v5 service (GetRealTimeFaxStatusEx): codes, ids, auth, parsing, client, adapter."""
