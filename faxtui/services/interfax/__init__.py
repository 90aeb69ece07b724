"""The InterFax service (`dfs.asmx`, FaxStatusEx): codes, ids, parsing, client, adapter."""
