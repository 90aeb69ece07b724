"""faxtui: a terminal monitor for outbound faxes on InterFax and Concord Fax."""

__version__ = "0.1.0"
