"""The fax services behind one interface (`adapter.ServiceAdapter`), one folder each, and the
SOAP/HTTP pieces they share."""
