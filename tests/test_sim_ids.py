"""InterFax TransactionIDs past 999,999,999 within xs:int, and LastTransactionID as real servers
read it (issue 11, items 2 and 8): strictly below it, off by one, or not at all."""

from __future__ import annotations

import httpx
import pytest
from sim_fixtures import faxstatusex, interfax_headers, post_options, read_interfax, running, world

from faxtui.sim import FakeClock, SimOptions, SimServer

XS_INT_MAX = 2_147_483_647


def _page(client: httpx.Client, server: SimServer, last: int, max_items: int = 100,
          user: str = "demo", password: str = "demo") -> tuple[int, int, list[int]]:
    r = client.post(server.interfax_url, content=faxstatusex(user, password, last, max_items),
                    headers=interfax_headers())
    assert r.status_code == 200
    answer = read_interfax(r.content)
    assert answer.list_size == len(answer.items)
    return answer.result_code, answer.total, answer.ids


def test_default_ids_are_past_1_5_billion_and_all_of_them_are_below_the_xs_int_maximum() -> None:
    w = world(rate_limit_calls=1000)
    ids = w.interfax_transaction_ids("demo")
    assert ids[0] == SimOptions().interfax_id_base and ids[0] > 1_500_000_000
    assert all(999_999_999 < i < XS_INT_MAX for i in ids)
    with running(w) as server, httpx.Client() as client:
        code, total, seen = _page(client, server, XS_INT_MAX)
        # The vendor's old "all" sentinel finds nothing once ids are this large.
        assert _page(client, server, 999_999_999)[1:] == (60, [])
    assert (code, total, seen) == (0, 60, ids)


@pytest.mark.parametrize("where", ["max", "max-1", "newest+1", "newest", "middle", "oldest", "1", "0", "-5",
                                   "min"])
def test_last_transaction_id_lists_ids_strictly_below_it_for_any_xs_int(where: str) -> None:
    w = world(rate_limit_calls=1000)
    ids = w.interfax_transaction_ids("demo")
    last = {"max": XS_INT_MAX, "max-1": XS_INT_MAX - 1, "newest+1": ids[0] + 1, "newest": ids[0],
            "middle": ids[30], "oldest": ids[-1], "1": 1, "0": 0, "-5": -5, "min": -(2**31)}[where]
    with running(w) as server, httpx.Client() as client:
        code, total, seen = _page(client, server, last)
    assert code == 0 and total == 60  # TotalCount: all the user's transactions, whatever the page
    assert seen == [i for i in ids if i < last]


def test_an_id_at_the_xs_int_maximum_is_only_seen_by_an_inclusive_server() -> None:
    w = world(rate_limit_calls=1000, interfax_id_base=XS_INT_MAX, interfax_id_max=XS_INT_MAX)
    ids = w.interfax_transaction_ids("demo")
    assert ids[0] == XS_INT_MAX
    with running(w) as server, httpx.Client() as client:
        assert _page(client, server, XS_INT_MAX)[2] == ids[1:]
        post_options(client, server, interfax_last_id_mode="inclusive")
        assert _page(client, server, XS_INT_MAX)[2] == ids
        assert _page(client, server, ids[5])[2] == ids[5:]  # <= LastTransactionID


def test_arrivals_stop_rather_than_pass_the_largest_id() -> None:
    clock = FakeClock()
    w = world(clock, arrival_mean_seconds=5, interfax_id_base=XS_INT_MAX - 40)
    for _ in range(60):
        clock.advance(30)
        w.advance_to_now()
    ids = w.interfax_transaction_ids("demo")
    assert ids[0] <= XS_INT_MAX - 1 and ids[0] > XS_INT_MAX - 40
    assert len(ids) > 60  # some arrived before the ids ran out


def test_id_options_are_checked() -> None:
    with pytest.raises(ValueError, match="xs:int"):
        SimOptions(interfax_id_base=XS_INT_MAX + 1)
    with pytest.raises(ValueError, match="xs:int"):
        SimOptions(interfax_id_base=0)
    with pytest.raises(ValueError, match="xs:int"):
        SimOptions(interfax_id_base=10, interfax_id_max=5)
    w = world(demo_accounts=False, interfax_id_base=100)
    with pytest.raises(ValueError, match="raise interfax_id_base"):
        w.add_interfax_account("big", "pw", jobs=200)
    with pytest.raises(KeyError):  # the account was not made
        w.interfax_transaction_ids("big")


def test_total_count_is_the_users_own_transactions_while_ids_are_global() -> None:
    w = world(rate_limit_calls=1000)
    w.add_interfax_account("second", "pw", jobs=7)
    mine = w.interfax_transaction_ids("second")
    assert max(mine) < min(w.interfax_transaction_ids("demo"))  # one id space, counting down
    with running(w) as server, httpx.Client() as client:
        assert _page(client, server, XS_INT_MAX, user="second", password="pw") == (0, 7, mine)
        assert _page(client, server, mine[2], 2, user="second", password="pw") == (0, 7, mine[3:5])


def test_a_server_that_ignores_last_transaction_id_always_answers_the_newest_page() -> None:
    w = world(rate_limit_calls=1000, interfax_last_id_mode="ignore")
    ids = w.interfax_transaction_ids("demo")
    with running(w) as server, httpx.Client() as client:
        first = _page(client, server, XS_INT_MAX, 10)
        again = _page(client, server, first[2][-1], 10)  # a client paging on gets the same page
        assert first == again == (0, 60, ids[:10])
        assert _page(client, server, 1, 10)[2] == ids[:10]
        post_options(client, server, interfax_last_id_mode="strict")
        assert _page(client, server, first[2][-1], 10)[2] == ids[10:20]
