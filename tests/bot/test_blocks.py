"""The Block Kit builders as pure functions: what a person sees, escaping of agent text, and Slack's limits."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.blocks import (
    ButtonRef,
    TaskLinks,
    checkpoint_card,
    decided_card,
    edit_modal,
    escape,
    final_message,
    home_view,
    parse_edit,
    progress_bar,
    reject_modal,
    respond_modal,
    status_message,
    submitted_text,
    truncate,
)
from bot.blocks.common import fit_blocks
from bot.blocks.ids import ACTION_CANCEL, ACTION_RETRY, INPUT_ACTION, INPUT_BLOCK, decision_from_action_id
from bot.blocks.text import (
    Mrkdwn,
    escape_keeping_mentions,
    inert_label,
    link,
    mention,
    mrkdwn,
    safe_blocks,
    slack_date,
    slack_text,
)
from contracts import (
    ArtifactV1,
    CancellationV1,
    DecisionRecordV1,
    ErrorInfoV1,
    ProposedActionV1,
    TaskResultV1,
    UsageV1,
)
from sandbox.block_limits import block_errors
from tests.bot.factories import T0, make_checkpoint, make_status

LINKS = TaskLinks("http://localhost:8233", "default")
NOW = T0 + timedelta(minutes=3, seconds=12)
HOSTILE = "<!channel> hi <@U09EVIL> see <https://evil.example|bank.com> & <!here>"


def all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def mrkdwn_texts(blocks: list[dict]) -> list[str]:
    """Every mrkdwn string in the blocks: the only places Slack parses `<...>` (plain_text is shown verbatim)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_escape_turns_every_control_sequence_into_plain_text() -> None:
    escaped = escape(HOSTILE)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.startswith("&lt;!channel&gt;")
    assert "&amp; " in escaped


def test_escape_leaves_already_escaped_text_escaped_so_it_is_never_decoded_into_markup() -> None:
    assert escape("&lt;!channel&gt; &amp;") == "&amp;lt;!channel&amp;gt; &amp;amp;"
    assert escape("*bold* _it_ `code`") == "*bold* _it_ `code`", "formatting is not markup: it stays"


def test_plain_text_is_escaped_where_it_enters_slack_and_only_batons_markup_passes() -> None:
    assert slack_text("<!channel> <@U0ADMIN> <#C0SECRET> <https://evil.example|x>") == (
        "&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;#C0SECRET&gt; &lt;https://evil.example|x&gt;")
    assert slack_text(mention("U01ALICE")) == "<@U01ALICE>"
    assert slack_text(f"{mention('U01ALICE')}") == "&lt;@U01ALICE&gt;", "an f-string loses the proof: escaped, not live"
    assert slack_text("x" * 50_000).endswith("(truncated)") and len(slack_text("<" * 20_000)) <= 40_000


def test_mrkdwn_templates_concatenation_and_join_escape_every_plain_piece() -> None:
    line = mrkdwn("*{}* by {} ({:,} calls)", "<!here> & co", mention("U01ALICE"), 1234)
    assert line == "*&lt;!here&gt; &amp; co* by <@U01ALICE> (1,234 calls)" and isinstance(line, Mrkdwn)
    assert "<!here> " + mention("U02BOB") == "&lt;!here&gt; <@U02BOB>"
    assert mention("U02BOB") + " <@U0ADMIN>" == "<@U02BOB> &lt;@U0ADMIN&gt;"
    joined = Mrkdwn(" · ").join(["<#C0SECRET>", link("http://ui/x", "Open"), slack_date(T0)])
    assert joined.startswith("&lt;#C0SECRET&gt; · <http://ui/x|Open> · <!date^") and isinstance(joined, Mrkdwn)


def test_only_real_looking_ids_become_mentions_and_a_link_label_cannot_retarget_it() -> None:
    assert mention("U0ADMIN>|<!channel") == "U0ADMIN&gt;|&lt;!channel"
    assert mention("") == "" and mention("Ü1") == "Ü1"
    assert link("http://ui/x", "a|b <!here>") == "<http://ui/x|a¦b &lt;!here&gt;>"


def test_escape_keeping_mentions_revives_only_the_people_the_caller_names() -> None:
    text = escape_keeping_mentions("<@U03CAROL> is not an approver; <@U0ADMIN> <!channel>", ["U03CAROL"])
    assert text == "<@U03CAROL> is not an approver; &lt;@U0ADMIN&gt; &lt;!channel&gt;"
    assert escape_keeping_mentions("<@x><!channel>", ["x><!channel"]) == "&lt;@x&gt;&lt;!channel&gt;"


def test_safe_blocks_escapes_hand_built_mrkdwn_and_leaves_plain_text_and_inputs_as_written() -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "<!here>"}, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel>"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn("by {}", mention("U1"))}]},
        {"type": "input", "element": {"type": "plain_text_input", "initial_value": '{"a": "<!here>"}'}},
    ]}
    safe = safe_blocks(view)
    assert safe["blocks"][0]["text"]["text"] == "&lt;!channel&gt;"
    assert safe["blocks"][1]["elements"][0]["text"] == "by <@U1>"
    assert safe["title"]["text"] == "<!here>" and safe["blocks"][2]["element"]["initial_value"] == '{"a": "<!here>"}'
    assert view["blocks"][0]["text"]["text"] == "<!channel>", "the caller's blocks are not changed"
    assert inert_label("<!channel> report") == "‹!channel› report"


def test_truncate_marks_the_cut_and_never_splits_an_entity() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("a" * 5 + "&amp;" + "b" * 100, 20)
    assert len(cut) <= 20 and cut.endswith("(truncated)")
    assert "&am" not in cut.replace("&amp;", "")
    cut_markup = truncate(mrkdwn("{} {} {}", "x" * 5, mention("U01ALICE"), "y" * 30), 23)  # cuts the mention
    assert cut_markup == "xxxxx … (truncated)" and isinstance(cut_markup, Mrkdwn), "dropped, never left open"


def test_progress_bar_shows_percent_and_is_indeterminate_without_a_total() -> None:
    assert progress_bar(40) == "▓▓▓▓░░░░░░ 40%"
    assert progress_bar(None) == "░" * 10
    assert progress_bar(250).endswith("100%")


def test_status_message_shows_agent_phase_progress_step_elapsed_id_link_and_cancel() -> None:
    rendered = status_message(make_status(), now=NOW, links=LINKS)
    text = all_text(rendered.blocks)
    assert "ops_audit" in text and "Running" in text
    assert "▓▓▓▓░░░░░░ 40%" in text and "step 2/5" in text and "inspecting web-1" in text
    assert "elapsed 3m 12s" in text
    assert "ops_audit-0123456789ab" in text
    assert "http://localhost:8233/namespaces/default/workflows/ops_audit-0123456789ab" in text
    [cancel] = buttons(rendered.blocks)
    assert cancel["action_id"] == ACTION_CANCEL
    assert ButtonRef.decode(cancel["value"]).task_id == "ops_audit-0123456789ab"
    assert block_errors(rendered.blocks) == []


def test_a_task_waiting_for_a_decision_names_the_checkpoint_once_in_its_status_message() -> None:
    checkpoint = make_checkpoint(title="Approve apply_remediation?")
    status = make_status(phase="waiting_for_human", pending_checkpoint=checkpoint,
                         progress=make_status().progress.model_copy(
                             update={"message": "Waiting for a decision: Approve apply_remediation?"}))
    text = all_text(status_message(status, now=NOW, links=LINKS).blocks)
    assert text.count("Approve apply_remediation?") == 1 and text.count("Waiting for") == 1
    assert "Decision needed: *Approve apply_remediation?*" in text and "▓▓▓▓░░░░░░ 40%" in text
    other = status.model_copy(update={"progress": status.progress.model_copy(update={"message": "paging on-call"})})
    assert "paging on-call" in all_text(status_message(other, now=NOW, links=LINKS).blocks), "other news still shows"


def test_finished_status_message_has_no_cancel_button_and_stops_the_clock() -> None:
    status = make_status(phase="completed", finished_at=T0 + timedelta(seconds=42))
    rendered = status_message(status, now=NOW + timedelta(days=3), links=LINKS)
    assert buttons(rendered.blocks) == []
    assert "elapsed 42s" in all_text(rendered.blocks)


def test_status_message_without_temporal_ui_has_no_link() -> None:
    rendered = status_message(make_status(), now=NOW, links=TaskLinks(None))
    assert "Open in Temporal" not in all_text(rendered.blocks)


def test_agent_text_with_channel_pings_and_spoofed_links_renders_harmlessly_everywhere() -> None:
    checkpoint = make_checkpoint(title=HOSTILE, description=HOSTILE,
                                 proposed_action=ProposedActionV1(name="x", args={"note": HOSTILE}))
    status = make_status(request_text=HOSTILE, phase="completed", pending_checkpoint=None,
                         progress=make_status().progress.model_copy(update={"message": HOSTILE}),
                         result=TaskResultV1(outcome="success", summary=HOSTILE,
                                             artifacts=[ArtifactV1(name=HOSTILE, content=HOSTILE)]))
    outputs = [
        status_message(status.model_copy(update={"phase": "running"}), now=NOW, links=LINKS).blocks,
        checkpoint_card(status.task_id, checkpoint).blocks,
        final_message(status).blocks,
        decided_card(checkpoint, DecisionRecordV1(checkpoint_id="cp-1", decision="reject", by="U01ALICE",
                                                  text=HOSTILE, at=T0)).blocks,
    ]
    for blocks in outputs:
        text = "\n".join(mrkdwn_texts(blocks))
        for forbidden in ("<!channel>", "<!here>", "<@U09EVIL>", "<https://evil.example|bank.com>"):
            assert forbidden not in text
    assert "&lt;!channel&gt;" in all_text(final_message(status).blocks)
    assert "<!channel>" not in final_message(status).text
    for blocks in outputs:  # escaped once: Baton's own pieces are composed as Mrkdwn, never escaped a second time
        assert "&amp;lt;" not in all_text(blocks)
    assert "Rejected by <@U01ALICE> <!date^" in all_text(outputs[3])


def test_checkpoint_card_has_title_description_action_args_and_one_button_per_allowed_decision() -> None:
    rendered = checkpoint_card("t-1", make_checkpoint(), approvers=["U01ALICE"])
    text = all_text(rendered.blocks)
    assert "Restart web-1?" in text and "web-1 answers 502" in text
    assert "restart_service" in text and '\\"host\\": \\"web-1\\"' in text
    labels = [b["text"]["text"] for b in buttons(rendered.blocks)]
    assert labels == ["Approve", "Edit", "Reject", "Respond"]
    actions = [decision_from_action_id(b["action_id"]) for b in buttons(rendered.blocks)]
    assert actions == ["accept", "edit", "reject", "respond"]
    ref = ButtonRef.decode(buttons(rendered.blocks)[0]["value"])
    assert (ref.task_id, ref.checkpoint_id) == ("t-1", "cp-1")
    assert "<@U01ALICE>" in text
    assert block_errors(rendered.blocks) == []


def test_quorum_card_counts_approvals() -> None:
    rendered = checkpoint_card("t-1", make_checkpoint(quorum=2, approvals=["U01ALICE"]))
    assert "1 of 2 approvals" in all_text(rendered.blocks)


def test_escalated_and_reminded_cards_say_so_and_keep_their_buttons() -> None:
    escalated = checkpoint_card("t-1", make_checkpoint(state="escalated"))
    assert "escalated" in all_text(escalated.blocks) and buttons(escalated.blocks)
    reminded = checkpoint_card("t-1", make_checkpoint(state="reminded"))
    assert "reminder sent" in all_text(reminded.blocks) and buttons(reminded.blocks)


def test_decided_card_shows_who_decided_what_and_when_without_buttons() -> None:
    record = DecisionRecordV1(checkpoint_id="cp-1", checkpoint_title="Restart web-1?", decision="reject",
                              by="U01ALICE", text="not during business hours", at=T0)
    for checkpoint in (make_checkpoint(), None):
        rendered = decided_card(checkpoint, record)
        text = all_text(rendered.blocks)
        assert "Rejected by <@U01ALICE>" in text and "not during business hours" in text
        assert f"<!date^{int(T0.timestamp())}^" in text
        assert "Restart web-1?" in text
        assert buttons(rendered.blocks) == []


def test_expired_card_names_the_policy_default() -> None:
    record = DecisionRecordV1(checkpoint_id="cp-1", decision="reject", by="expiry", at=T0)
    text = all_text(decided_card(make_checkpoint(), record).blocks)
    assert "Expired" in text and "Rejected" in text


def test_huge_arguments_stay_within_section_limits() -> None:
    args = {f"k{i}": "v" * 200 for i in range(100)}
    checkpoint = make_checkpoint(proposed_action=ProposedActionV1(name="bulk", args=args),
                                 description="d" * 20_000)
    rendered = checkpoint_card("t-1", checkpoint)
    assert block_errors(rendered.blocks) == []
    assert "(truncated)" in all_text(rendered.blocks)


def test_fit_blocks_keeps_50_blocks_and_the_buttons() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": str(i)}} for i in range(80)]
    blocks.append({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x"},
                                                     "action_id": "a"}]})
    fitted = fit_blocks(blocks)
    assert len(fitted) == 50 and fitted[-1]["type"] == "actions"
    assert "32 more blocks omitted" in all_text(fitted)


def test_final_message_has_summary_artifacts_and_usage() -> None:
    result = TaskResultV1(outcome="success", summary="All 3 hosts healthy.",
                          artifacts=[ArtifactV1(name="report.md", content="# ok")],
                          usage=UsageV1(llm_calls=3, input_tokens=1200, output_tokens=340))
    rendered = final_message(make_status(phase="completed", result=result, finished_at=NOW))
    text = all_text(rendered.blocks)
    assert "Completed" in text and "All 3 hosts healthy." in text and "report.md" in text and "# ok" in text
    assert "3 LLM calls" in text and "1,200 tokens in" in text and "340 out" in text
    assert rendered.uploads == [] and buttons(rendered.blocks) == []


def test_final_message_uploads_large_artifacts_and_long_summaries_as_files() -> None:
    big = "line\n" * 2000
    result = TaskResultV1(outcome="success", summary="s" * 5000, artifacts=[ArtifactV1(name="big log", content=big)])
    rendered = final_message(make_status(phase="completed", result=result, finished_at=NOW))
    assert [u.title for u in rendered.uploads] == ["Full summary", "big log"]
    assert rendered.uploads[1].content == big and rendered.uploads[1].filename == "big_log.txt"
    assert "attached as a file" in all_text(rendered.blocks)
    assert block_errors(rendered.blocks) == []


def test_failed_final_message_shows_the_error_and_a_retry_button() -> None:
    result = TaskResultV1(outcome="failed", error=ErrorInfoV1(type="ProviderError", message="model unavailable"))
    rendered = final_message(make_status(phase="failed", result=result, finished_at=NOW))
    text = all_text(rendered.blocks)
    assert "Failed" in text and "ProviderError" in text and "model unavailable" in text
    [retry] = buttons(rendered.blocks)
    assert retry["action_id"] == ACTION_RETRY and ButtonRef.decode(retry["value"]).task_id == make_status().task_id


def test_cancelled_final_message_names_who_cancelled() -> None:
    status = make_status(phase="cancelled", cancellation=CancellationV1(by="U02BOB", reason="wrong host"),
                         finished_at=NOW)
    text = all_text(final_message(status).blocks)
    assert "Cancelled" in text and "wrong host" in text


def test_edit_modal_is_prefilled_with_the_arguments_and_carries_the_reference() -> None:
    ref = ButtonRef("t-1", "cp-1", "C01OPS", "1.2")
    view = edit_modal(ref, make_checkpoint())
    element = view["blocks"][1]["element"]
    assert json.loads(element["initial_value"]) == {"host": "web-1", "graceful": True}
    assert ButtonRef.decode(view["private_metadata"]) == ref
    assert block_errors(view["blocks"], max_blocks=100) == []


def test_edit_modal_refuses_arguments_too_large_to_edit_faithfully() -> None:
    checkpoint = make_checkpoint(proposed_action=ProposedActionV1(name="x", args={"blob": "x" * 4000}))
    view = edit_modal(ButtonRef("t-1", "cp-1"), checkpoint)
    assert "submit" not in view and "too large" in all_text(view["blocks"])


def test_parse_edit_accepts_objects_and_explains_everything_else() -> None:
    assert parse_edit('{"host": "web-2"}') == ({"host": "web-2"}, None)
    for bad, words in (("", "JSON object"), ("{host: 1}", "not valid JSON"), ("[1, 2]", "must be a JSON object")):
        value, error = parse_edit(bad)
        assert value is None and error is not None and words in error


def test_reject_and_respond_modals_collect_text() -> None:
    for build, callback in ((reject_modal, "baton.view.reject"), (respond_modal, "baton.view.respond")):
        view = build(ButtonRef("t-1", "cp-1"), make_checkpoint())
        assert view["callback_id"] == callback and view["blocks"][1]["block_id"] == INPUT_BLOCK
    state = {"state": {"values": {INPUT_BLOCK: {INPUT_ACTION: {"type": "plain_text_input", "value": " why \n"}}}}}
    assert submitted_text(state) == "why"
    assert submitted_text({"state": {"values": {}}}) == ""


def test_button_ref_rejects_values_we_did_not_write() -> None:
    for forged in ("click_me_123", "[]", '{"c": "x"}'):
        try:
            ButtonRef.decode(forged)
        except ValueError:
            continue
        raise AssertionError(f"accepted {forged!r}")


def test_home_view_lists_my_tasks_and_approvals_waiting_for_me() -> None:
    waiting = make_status(phase="waiting_for_human", pending_checkpoint=make_checkpoint())
    view = home_view([make_status()], [waiting], now=NOW, links=LINKS)
    text = all_text(view["blocks"])
    assert view["type"] == "home"
    assert "Approvals waiting for me" in text and "Restart web-1?" in text and "My running tasks" in text
    empty = all_text(home_view([], [], now=NOW, links=LINKS)["blocks"])
    assert "Nothing is waiting for you." in empty and "No running tasks." in empty
