"""Well-known phrases in diagnostic texts, and the reason (sisimai's names) each stands for.

Data only. First match wins: phrases about the sender, policy and the network come before
phrases about the recipient, because a refusal such as "sender address rejected: user
unknown" names the *sender*; temporary DNS failures ("try again") come before "host not
found". Every phrase is one that many mail servers use (Postfix, Exim, Sendmail, Exchange,
Gmail, Yahoo), never the text of one message.
"""

from __future__ import annotations

import re

_C = re.IGNORECASE

# Exchange Online's directory-based edge blocking: the recipient is not in the directory
# (sent with 5.4.1 or 5.7.1, so it must come before the status code's own meaning).
EXCHANGE_NOT_FOUND = re.compile(
    r"recipient\s+address\s+rejected:\s+access\s+denied|recipnotfound", _C
)

# (reason, pattern): first match wins.
PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("userunknown", EXCHANGE_NOT_FOUND),
    (
        "norelaying",
        re.compile(
            r"relay(ing)?\s+(access\s+)?(denied|not\s+(permitted|allowed)|prohibited|refused)|"
            r"(not\s+permitted|unable|not\s+allowed)\s+to\s+relay|rcpthosts|"
            r"we\s+do\s+not\s+relay|relay\s+not\s+permitted",
            _C,
        ),
    ),
    (
        "authfailure",
        re.compile(
            r"\bspf\b|\bdkim\b|\bdmarc\b|sender\s+policy\s+framework|5\.7\.2[3-9]|"
            r"not\s+authorized\s+to\s+send",
            _C,
        ),
    ),
    (
        "securityerror",
        re.compile(
            r"authentication\s+(required|failed|credentials)|\bauth(entication)?\s+error|"
            r"must\s+(issue\s+a\s+)?(starttls|authenticate)|encryption\s+required|"
            r"tls\s+(is\s+)?required|user\s+not\s+authenticated|certificate",
            _C,
        ),
    ),
    (
        "requireptr",
        re.compile(
            r"reverse\s+(dns|lookup|hostname)|\bptr\b|no\s+rdns|\brdns\b|"
            r"cannot\s+find\s+your\s+hostname|client\s+host\s+.*(not\s+)?resolv|"
            r"unresolvable|hostname\s+does\s+not\s+match",
            _C,
        ),
    ),
    (
        "rejected",
        re.compile(
            r"sender\s+(address\s+)?(rejected|denied|refused|verify\s+failed|"
            r"domain\s+(must\s+exist|not\s+found))|domain\s+of\s+sender|"
            r"sender\s+(is\s+)?(not\s+allowed|blacklisted|unknown)|"
            r"(bad|invalid|unknown)\s+sender|mail\s+from\s+.*(rejected|refused)|"
            r"envelope\s+sender|return\s+path|sender\s+verification",
            _C,
        ),
    ),
    (
        "virusdetected",
        re.compile(r"\bvirus|malware|infected", _C),
    ),
    (
        "spamdetected",
        re.compile(
            r"\bspam\b|spam\s+(message|content|detected)|\bjunk\b|\bube\b|\buce\b|"
            r"message\s+content\s+rejected|content\s+.*classified|bulk\s+mail|"
            r"considered\s+(as\s+)?(spam|unsolicited)|unsolicited",
            _C,
        ),
    ),
    (
        "blocked",
        re.compile(
            r"block(ed|list)|black\s*list(ed)?|deny\s*list|\brbl\b|dnsbl|spamhaus|spamcop|"
            r"listed\s+(at|on|in|by)|client\s+host\s+(\[.*\]\s+)?(rejected|blocked)|"
            r"poor\s+reputation|bad\s+reputation|reputation|ip\s+address\s+.*(rejected|blocked|"
            r"refused)|access\s+denied|connection\s+refused\s+by|banned",
            _C,
        ),
    ),
    (
        "toomanyconn",
        re.compile(r"too\s+many\s+(connections|sessions|concurrent)|connection\s+limit", _C),
    ),
    (
        "speeding",
        re.compile(
            r"rate\s+limit|too\s+many\s+(messages|recipients|emails)|try\s+again\s+later", _C
        ),
    ),
    (
        "mesgtoobig",
        re.compile(
            r"(message|mail)\s+(size\s+)?(is\s+)?(too\s+(large|big|long)|exceeds|"
            r"size\s+exceeds)|size\s+limit|message\s+length\s+exceeds|exceeds\s+.*size",
            _C,
        ),
    ),
    (
        "mailboxfull",
        re.compile(
            r"(mailbox|mail\s+box|inbox|account|mail\s+folder|user)\s+(is\s+)?(full|"
            r"over\s*quota)|over\s*quota|quota\s+(exceeded|exceed)|exceed(ed|s)?\s+.*quota|"
            r"insufficient\s+(disk\s+)?space|storage\s+(allocation|limit|quota)|"
            r"mailbox\s+size\s+limit|not\s+enough\s+(storage|space)|disk\s+full",
            _C,
        ),
    ),
    (
        "suspend",
        re.compile(
            r"(account|mailbox|user|address)\s+(has\s+been\s+|is\s+)?(temporarily\s+)?"
            r"(disabled|suspended|inactive|deactivated|locked|frozen|expired|on\s*hold)|"
            r"(disabled|suspended|inactive|deactivated)\s+(account|mailbox|user)|"
            r"not\s+(currently\s+)?active|is\s+not\s+accepting\s+(mail|messages)",
            _C,
        ),
    ),
    (
        "hasmoved",
        re.compile(
            r"has\s+(been\s+)?moved|address\s+(has\s+)?changed|no\s+longer\s+(valid|"
            r"available|in\s+use)|user\s+has\s+moved",
            _C,
        ),
    ),
    (
        "notaccept",
        re.compile(r"null\s+mx|does\s+not\s+accept\s+(e-?)?mail|accepts?\s+no\s+mail", _C),
    ),
    (
        "networkerror",
        re.compile(r"try\s+again|temporary\s+(lookup|dns)", _C),
    ),
    (
        "hostunknown",
        re.compile(
            r"host\s+(or\s+domain\s+name\s+)?(unknown|not\s+found)|unknown\s+host|"
            r"domain\s+(name\s+)?(not\s+found|does\s+not\s+exist|unknown)|"
            r"(unrouteable|unroutable)\s+(mail\s+)?domain|no\s+such\s+(domain|host)|"
            r"name\s+or\s+service\s+not\s+known|nxdomain|no\s+mx\s+(record|for)|"
            r"(?<![@\w.-])[a-z0-9-]+(\.[a-z0-9-]+)+\s+does\s+not\s+exist",
            _C,
        ),
    ),
    (
        "userunknown",
        re.compile(
            r"(user|mailbox|recipient|address|account|addressee)\s+(name\s+)?(is\s+)?"
            r"(unknown|not\s+(found|known|exist|valid|listed)|does\s+not\s+exist|"
            r"doesn'?t\s+exist|invalid|unavailable)|no\s+such\s+(user|mailbox|recipient|"
            r"account|address|person)|unknown\s+(user|recipient|mailbox|address|local\s*part|"
            r"account)|invalid\s+(recipient|mailbox|address|user)|"
            r"does\s+not\s+exist|doesn'?t\s+have\s+an?\s+\S+\s+account|"
            r"(unrouteable|unroutable)\s+address|no\s+mailbox\s+here|not\s+a\s+valid\s+"
            r"(user|mailbox|recipient)|recipient\s+(address\s+)?rejected|"
            r"recipientnotfound|user\s+not\s+local|mailbox\s+not\s+available|"
            r"not\s+our\s+customer|bad\s+(destination\s+)?(mailbox|recipient)",
            _C,
        ),
    ),
    (
        "expired",
        re.compile(
            r"(delivery|retry)\s+(time\s*out|timeout|time\s+expired|period\s+expired)|"
            r"(message|mail)\s+(has\s+)?expired|gave\s+up|giving\s+up|too\s+long\s+in\s+"
            r"(the\s+)?queue|could\s+not\s+be\s+delivered\s+(within|for)|"
            r"retry\s+time\s+not\s+reached|been\s+delayed|delivery\s+.*delayed",
            _C,
        ),
    ),
    (
        "networkerror",
        re.compile(
            r"connection\s+(timed\s+out|refused|reset|lost|closed)|timed\s+out|"
            r"no\s+route\s+to\s+host|network\s+(is\s+)?unreachable|could\s+not\s+connect|"
            r"unable\s+to\s+connect|mail\s+loop|too\s+many\s+hops|loops?\s+back|"
            r"routing\s+loop|hop\s+count",
            _C,
        ),
    ),
    (
        "systemfull",
        re.compile(r"insufficient\s+system\s+storage|system\s+(is\s+)?full", _C),
    ),
    (
        "policyviolation",
        re.compile(r"\bpolic(y|ies)\b|prohibited|not\s+allowed|administrative", _C),
    ),
    (
        "contenterror",
        re.compile(r"content\s+(error|rejected)|(header|mime|encoding)\s+.*(invalid|error)", _C),
    ),
    (
        "filtered",
        re.compile(r"\bfilter(ed)?\b|rejected\s+by\s+(the\s+)?recipient|refused\s+by", _C),
    ),
    (
        "systemerror",
        re.compile(
            r"system\s+(error|failure)|local\s+(configuration\s+)?error|internal\s+error|"
            r"server\s+error|temporar(il)?y\s+(failure|error|unavailable)|i/o\s+error",
            _C,
        ),
    ),
)
