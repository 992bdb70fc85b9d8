"""sidtool: Active Directory SID analysis.

Finds the SIDs in ACLs that a consumer built for an older Windows release does
not know, first of all the Windows Server 2003 built-in groups that make
Exchange 2000/2003 (before SP2) refuse public-folder mail with NDR 5.2.1
(Microsoft KB 870585).
"""

from sidtool.errors import InputError, SidError, SidtoolError
from sidtool.security.sid import Sid

__version__ = "0.1.0"

__all__ = ["InputError", "Sid", "SidError", "SidtoolError", "__version__"]
