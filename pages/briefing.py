"""汇报演示: the county's coverage told as a sequence of views on a projector — one headline
figure and one sentence per view, large enough for the back of the room, stepped through with
the buttons, the arrow keys or a clicker."""

import streamlit as st

from services import briefing as steps

from dashboard import briefing, state

briefing.presentation_mode()
analysis, anonymised = briefing.shown_analysis()
fictional = state.fictional()
sequence = briefing.sequence(analysis)
if not sequence:
    st.warning("汇报顺序中没有可显示的步骤，请在下方“编辑汇报顺序”中添加步骤或恢复默认顺序。")
    briefing.sequence_editor(analysis, sequence, 0)
    st.stop()
index = briefing.current_index(len(sequence))
step = sequence[index]
progress = briefing.progress(analysis, anonymised) if step.kind == "progress" else None
headline = steps.headline(analysis, step, area=briefing.area_label(state.viewer()),
                          history=progress.rates if progress else None)

# --- the step: title and buttons, the figure and its sentence, the map -----------------------
briefing.top_bar(headline, index, len(sequence), fictional, anonymised)
briefing.show_headline(headline)
marks = ()
if step.kind in ("towns", "progress"):
    map_column, side = st.columns([3, 2])
    with side:
        if progress:
            marks = briefing.progress_panel(progress)
        else:
            briefing.town_chart(analysis)
else:
    map_column = st.container()
step_view = steps.step_view(analysis, step)
on_map = briefing.map_area(analysis, step_view)
view = briefing.map_view(step_view, marks)
with map_column:
    briefing.show_map(on_map, view)

# --- below the projector's view: files, options, the sequence --------------------------------
briefing.takeaways(analysis, on_map, step, headline, view, fictional)
briefing.options(fictional)
briefing.sequence_editor(analysis, sequence, index)
briefing.prepare_next(analysis, sequence, index, anonymised)
