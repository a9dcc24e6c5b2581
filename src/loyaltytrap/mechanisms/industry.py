"""M6 industry: plants, bills of materials, machine tools and grey-market parts.

Three product lines are assembled from components, each component made at one plant
(``COMPONENTS``). A component's potential output per day is its design rate scaled by what is
left of its plant, the plant's standing capacity and its imported machine tools (both shares
0-1, owned by the strikes module M7, which also holds the only route by which tools come back):

    plant_factor_p = capacity_p * tools_p        (plant_combination = "product")
                   = min(capacity_p, tools_p)     (plant_combination = "min", Leontief inside)
    potential_c = design_c * plant_factor_plant(c)

Components that need imported parts (missile guidance, drone electronics) use ``k`` parts per
unit, drawn from an inventory. A part is defective with probability ``d``; ``k`` parts in
series give a working unit with probability ``(1 - d) ** k``, so

    good_c = min(potential_c, inventory_c / k_c) * (1 - d_inv_c) ** k_c

where ``d_inv`` is the defective share of the inventory. A line's output is the Leontief
minimum over its bill of materials, capped by the line's nominal rate (final assembly):

    output_l = min(rate_l, min_{c in l} good_c)

and the binding component is the argmin (-1 when the nominal rate binds: no shortage). Design
rates carry ``component_headroom`` and are calibrated so that an undamaged industry with the
grey market working as at the start (defect rate ``grey_defect_rate``) turns out exactly the
nominal rates (the missile rate is the source's ~700 a year). With ``design_for_yield =
"none"`` the design rates of imported components are the headroom alone (no allowance for
defects, and the baseline parts need is ``k`` per nominal unit), so the series yield shows in
the output: ``output_l = rate_l * headroom * (1 - d) ** k`` when the parts bind. Plants run at
the pace of the line: imported parts are consumed only for the units the line can use.

Parts arrive through a grey-market pipeline of ``parts_lead_time_days`` slots. Orders are
bought with the money granted (``parts_budget_granted``, from M5), at most
``grey_market_capacity_factor`` times the baseline need per day times the circumvention
capacity (from M10; 1 = the network as at the start). The defect rate of an order rises as
circumvention falls:

    d = clip(grey_defect_rate + defect_slope * (1 - circumvention), 0, 0.95)

Each day's request for the next day follows a base-stock rule over the inventory position.
Conservation: parts ordered (including the pipeline on day 0) = parts arrived + in pipeline.

Formal anchors: output is the minimum over components (Leontief, bill of materials); ``k``
defect-prone parts in series yield ``(1 - d) ** k`` working units.

Disabled (``enabled = false``): industry is no constraint. Every line turns out its nominal
rate, the front's supply ratio is 1, nothing is ordered or requested (request 0), the
pipeline and inventories stand still and no event is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ..events import EventBatch, register_templates
from ..params import Common, col, option, param, per_member, replace, state_record
from .money import allocate

UNIFORMS_PER_DAY = 1  # sampling noise of the defective share of today's parts orders

PLANTS = ("missile airframes", "missile engines", "guidance electronics", "shell bodies",
          "propellant", "fuzes", "drone works")
N_PLANTS = len(PLANTS)
ENGINE_PLANT = 1  # the Votkinsk-like engine plant the source says was struck
LINES = ("ballistic missiles", "artillery shells", "drones")
MISSILES, SHELLS, DRONES = 0, 1, 2
# (component, line, plant, imported part kind or None)
COMPONENTS = (
    ("airframe", MISSILES, 0, None),
    ("engine", MISSILES, 1, None),
    ("guidance", MISSILES, 2, "guidance"),
    ("shell body", SHELLS, 3, None),
    ("propellant", SHELLS, 4, None),
    ("fuze", SHELLS, 5, None),
    ("drone airframe", DRONES, 6, None),
    ("drone electronics", DRONES, 6, "drone"),
)
COMPONENT_NAMES = tuple(c[0] for c in COMPONENTS)
COMP_LINE = np.array([c[1] for c in COMPONENTS])
COMP_PLANT = np.array([c[2] for c in COMPONENTS])
IMPORTED = np.array([i for i, c in enumerate(COMPONENTS) if c[3] is not None])
PART_KINDS = tuple(COMPONENTS[i][3] for i in IMPORTED)

register_templates({
    "bottleneck": ("M6", "the {label} now binds: the line makes {value:.2f} a day "
                         "({value2:.0%} of its nominal rate)"),
})


@dataclass(frozen=True, kw_only=True)
class IndustryParams(Common):
    """Parameters of M6."""

    missile_rate_per_year: np.ndarray = param("missiles per year", 0, 5000,
                                              doc="nominal ballistic missile output")
    shell_rate_per_day: np.ndarray = param("shells per day", 0, 100000,
                                           doc="nominal artillery ammunition output")
    drone_rate_per_day: np.ndarray = param("drones per day", 0, 5000,
                                           doc="nominal long-range drone output")
    shell_need_per_day: np.ndarray = param("shells per day", 1, 100000,
                                           doc="shells the front needs")
    component_headroom: np.ndarray = param("ratio", 1, 3,
                                           doc="design rate of a component over its line's "
                                               "nominal rate")
    grey_defect_rate: np.ndarray = param("share (0-1)", 0, 0.95,
                                         doc="defect rate of grey-market parts at the start")
    defect_slope: np.ndarray = param("share per unit of lost circumvention", 0, 0.9,
                                     doc="added defect rate as circumvention falls to 0")
    guidance_parts_per_unit: np.ndarray = param("parts", 1, 10, integer=True,
                                                doc="imported parts in series in a guidance "
                                                    "unit")
    drone_parts_per_unit: np.ndarray = param("parts", 1, 10, integer=True,
                                             doc="imported parts in series in drone "
                                                 "electronics")
    guidance_part_cost_usd_m: np.ndarray = param("USD m per part", 0, 100,
                                                 doc="grey-market price of a guidance part")
    drone_part_cost_usd_m: np.ndarray = param("USD m per part", 0, 100,
                                              doc="grey-market price of a drone part")
    parts_lead_time_days: int = param("days", 1, 365, integer=True, structural=True,
                                      doc="days from order to arrival on the grey market")
    parts_cover_days: np.ndarray = param("days", 0, 365,
                                         doc="stock of parts held beyond the pipeline")
    grey_market_capacity_factor: np.ndarray = param("ratio", 0, 10,
                                                    doc="grey-market supply at full "
                                                        "circumvention over the baseline need")
    plant_combination: str = option(("product", "min"), "product",
                                    doc="how capacity and machine tools combine in a plant")
    design_for_yield: str = option(("start", "none"), "start",
                                   doc="start: design rates of imported components allow for "
                                       "the starting defect rate; none: no allowance")


@state_record
@dataclass(frozen=True)
class IndustryState:
    """Production and the parts pipeline (C = len(COMPONENTS), L = len(LINES),
    CI = len(IMPORTED), T = parts_lead_time_days).

    line_rate: float64 ``[E, L]`` nominal output, units/day (constant)
    design: float64 ``[E, C]`` design rate of each component (attempted units/day)
    parts_per_unit: float64 ``[E, CI]`` imported parts in series per unit, parts (constant)
    part_cost: float64 ``[E, CI]`` price, USD bn per part (constant)
    grey_capacity: float64 ``[E, CI]`` parts/day the grey market supplies at circumvention 1
    need_baseline: float64 ``[E, CI]`` parts/day used at nominal output (constant)
    output: float64 ``[E, L]`` output today, units/day
    potential: float64 ``[E, C]`` working components the plants could make today, units/day
    binding: int64 ``[E, L]`` component that limits each line (-1: the nominal rate)
    supply_ratio: float64 ``[E]`` shells made / shells needed today, ratio
    inventory: float64 ``[E, CI]`` parts in stock, parts
    inventory_defective: float64 ``[E, CI]`` defective parts in stock, parts
    pipeline: float64 ``[E, CI, T]`` parts on the way (slot 0 arrives next), parts
    pipeline_defective: float64 ``[E, CI, T]`` defective parts on the way, parts
    arrived: float64 ``[E, CI]`` parts arrived today, parts
    ordered: float64 ``[E, CI]`` parts ordered today, parts
    defect_rate: float64 ``[E]`` defective share of the parts used today (NaN if none)
    order_defect_rate: float64 ``[E]`` defect rate of today's orders, share
    request_usd_bn: float64 ``[E, CI]`` money asked for parts for tomorrow, USD bn
    ordered_total, arrived_total, used_total: float64 ``[E, CI]`` cumulative, parts
    output_total: float64 ``[E, L]`` cumulative output, units
    """

    line_rate: np.ndarray
    design: np.ndarray
    parts_per_unit: np.ndarray
    part_cost: np.ndarray
    grey_capacity: np.ndarray
    need_baseline: np.ndarray
    output: np.ndarray
    potential: np.ndarray
    binding: np.ndarray
    supply_ratio: np.ndarray
    inventory: np.ndarray
    inventory_defective: np.ndarray
    pipeline: np.ndarray
    pipeline_defective: np.ndarray
    arrived: np.ndarray
    ordered: np.ndarray
    defect_rate: np.ndarray
    order_defect_rate: np.ndarray
    request_usd_bn: np.ndarray
    ordered_total: np.ndarray
    arrived_total: np.ndarray
    used_total: np.ndarray
    output_total: np.ndarray



def line_rates(p: IndustryParams, E: int) -> np.ndarray:
    """Nominal output per line, units/day ``[E, L]``."""
    return np.stack([per_member(p.missile_rate_per_year, E) / 365.0,
                     per_member(p.shell_rate_per_day, E),
                     per_member(p.drone_rate_per_day, E)], axis=1)


def series_yield(d: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Share of units that work when each of ``k`` parts in series is defective with
    probability ``d``: ``(1 - d) ** k``."""
    return (1.0 - d) ** k


def order_defect_rate(p: IndustryParams, circumvention: np.ndarray) -> np.ndarray:
    """Defect rate of parts ordered today, ``[E]``."""
    return np.clip(p.grey_defect_rate + p.defect_slope * (1.0 - circumvention), 0.0, 0.95)


def plant_factor(p: IndustryParams, capacity: np.ndarray, tools: np.ndarray) -> np.ndarray:
    """What is left of each plant's output, share 0-1 ``[E, P]``."""
    if p.plant_combination == "min":
        return np.minimum(capacity, tools)
    return capacity * tools


def init_industry(p: IndustryParams, E: int) -> IndustryState:
    """Day 0: undamaged plants, a steady pipeline and ``parts_cover_days`` of stock."""
    rate = line_rates(p, E)
    k = np.stack([per_member(p.guidance_parts_per_unit, E),
                  per_member(p.drone_parts_per_unit, E)], axis=1)
    cost = np.stack([per_member(p.guidance_part_cost_usd_m, E),
                     per_member(p.drone_part_cost_usd_m, E)], axis=1)
    d0 = per_member(p.grey_defect_rate, E)
    y0 = series_yield(d0[:, None], k)
    if p.design_for_yield == "none":
        y0 = np.ones_like(y0)
    design = rate[:, COMP_LINE] * col(per_member(p.component_headroom, E))
    design[:, IMPORTED] /= y0
    need0 = k * rate[:, COMP_LINE[IMPORTED]] / y0
    T = p.parts_lead_time_days
    pipe = np.repeat(need0[:, :, None], T, axis=2)
    z = np.zeros
    L, CI = len(LINES), len(IMPORTED)
    inv = need0 * col(per_member(p.parts_cover_days, E))
    return IndustryState(
        line_rate=rate, design=design, parts_per_unit=k, part_cost=cost / 1000.0,
        grey_capacity=need0 * col(per_member(p.grey_market_capacity_factor, E)),
        need_baseline=need0,
        output=rate.copy(), potential=design.copy(), binding=np.full((E, L), -1, np.int64),
        supply_ratio=rate[:, SHELLS] / per_member(p.shell_need_per_day, E),
        inventory=inv, inventory_defective=inv * d0[:, None], pipeline=pipe,
        pipeline_defective=pipe * d0[:, None, None], arrived=z((E, CI)), ordered=z((E, CI)),
        defect_rate=np.full(E, np.nan), order_defect_rate=d0.copy(),
        request_usd_bn=need0 * cost / 1000.0 if p.enabled else z((E, CI)),
        ordered_total=pipe.sum(axis=2), arrived_total=z((E, CI)), used_total=z((E, CI)),
        output_total=z((E, L)),
    )


def leontief(rate: np.ndarray, good: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output per line ``[E, L]`` = min(nominal rate, min over the line's components of the
    working components ``good`` ``[E, C]``), and the binding component (-1: the rate)."""
    E, L = rate.shape
    out = rate.copy()
    binding = np.full((E, L), -1, np.int64)
    for c in range(len(COMPONENTS)):
        line = COMP_LINE[c]
        tighter = good[:, c] < out[:, line] * (1.0 - 1e-12)
        out[:, line] = np.where(tighter, good[:, c], out[:, line])
        binding[:, line] = np.where(tighter, c, binding[:, line])
    return out, binding


def produce(
    s: IndustryState,
    p: IndustryParams,
    day: int,
    plant_capacity: np.ndarray,
    tool_share: np.ndarray,
    circumvention: np.ndarray,
    parts_budget_granted: np.ndarray,
    u: np.ndarray,
) -> tuple[IndustryState, list[EventBatch]]:
    """One day of production: parts arrive, plants make components, lines assemble the
    Leontief minimum, granted money buys parts on the grey market, tomorrow's request is set.

    ``plant_capacity`` and ``tool_share`` ``[E, P]`` shares 0-1 (from M7);
    ``circumvention`` ``[E]`` 0-1 (M10; 1 = as at the start); ``parts_budget_granted`` ``[E]``
    USD bn granted today against ``s.request_usd_bn`` (M5); ``u`` ``[E, UNIFORMS_PER_DAY]``.
    Disabled: nominal output, supply ratio 1, no orders (see the module docstring).
    """
    E = s.output.shape[0]
    if not p.enabled:
        z = np.zeros_like(s.arrived)
        return replace(s, output=s.line_rate.copy(), potential=s.design.copy(),
                        binding=np.full_like(s.binding, -1), supply_ratio=np.ones(E),
                        arrived=z, ordered=z.copy(), defect_rate=np.full(E, np.nan),
                        request_usd_bn=z.copy(), output_total=s.output_total + s.line_rate), []

    circ = np.clip(np.asarray(circumvention, dtype=np.float64), 0.0, 1.0)
    # 1. the grey-market pipeline delivers
    arrived, arrived_def = s.pipeline[:, :, 0], s.pipeline_defective[:, :, 0]
    inv = s.inventory + arrived
    inv_def = s.inventory_defective + arrived_def
    # 2. plants make components; the lines assemble the scarcest
    factor = plant_factor(p, plant_capacity, tool_share)[:, COMP_PLANT]  # [E, C]
    potential = s.design * factor
    k = s.parts_per_unit
    d_inv = np.where(inv > 1e-12, inv_def / np.maximum(inv, 1e-12), col(p.grey_defect_rate))
    y = series_yield(d_inv, k)
    good = potential.copy()
    good[:, IMPORTED] = np.minimum(potential[:, IMPORTED], inv / k) * y
    output, binding = leontief(s.line_rate, good)
    # 3. imported parts used only for the units the line takes (k per attempted unit)
    attempted = np.where(y > 1e-12, output[:, COMP_LINE[IMPORTED]] / np.maximum(y, 1e-12), 0.0)
    used = np.minimum(attempted * k, inv)
    used_def = used * d_inv
    inv, inv_def = inv - used, np.maximum(inv_def - used_def, 0.0)
    tot_used = used.sum(axis=1)
    defect_rate = np.where(tot_used > 1e-12, used_def.sum(axis=1) / np.maximum(tot_used, 1e-12),
                           np.nan)
    # 4. the money granted buys parts, within what the grey market can move
    budget = allocate(np.asarray(parts_budget_granted, dtype=np.float64), s.request_usd_bn)
    ordered = np.minimum(budget / np.maximum(s.part_cost, 1e-15), s.grey_capacity * col(circ))
    d = order_defect_rate(p, circ)
    z = np.clip(ndtri(np.clip(u[:, 0].astype(np.float64), 1e-6, 1 - 1e-6)), -4.0, 4.0)
    sd = np.sqrt(ordered * col(d * (1.0 - d)))
    ordered_def = np.clip(ordered * col(d) + sd * col(z), 0.0, ordered)
    pipe = np.concatenate([s.pipeline[:, :, 1:], ordered[:, :, None]], axis=2)
    pipe_def = np.concatenate([s.pipeline_defective[:, :, 1:], ordered_def[:, :, None]], axis=2)
    # 5. tomorrow's request: base stock over the inventory position
    request = _request(s, p, potential, good, y, inv, pipe, circ)

    events = bottleneck_events(s.binding, binding, output, s.line_rate)
    return after_day(
        s, p, output=output, potential=good, binding=binding, inventory=inv,
        inventory_defective=inv_def, pipeline=pipe, pipeline_defective=pipe_def,
        arrived=arrived.copy(), ordered=ordered, used=used, defect_rate=defect_rate,
        order_defect_rate=d, request_usd_bn=request,
    ), events


def after_day(
    s: IndustryState, p: IndustryParams, *, output: np.ndarray, arrived: np.ndarray,
    ordered: np.ndarray, used: np.ndarray, **today: np.ndarray,
) -> IndustryState:
    """The state after a day: today's values (``potential``, ``binding``, stocks,
    pipelines, ``defect_rate``, ``order_defect_rate``, ``request_usd_bn``), the shell supply
    ratio and the totals today's flows add to."""
    return replace(
        s, output=output, arrived=arrived, ordered=ordered,
        supply_ratio=output[:, SHELLS] / p.shell_need_per_day,
        ordered_total=s.ordered_total + ordered, arrived_total=s.arrived_total + arrived,
        used_total=s.used_total + used, output_total=s.output_total + output, **today,
    )


def _request(
    s: IndustryState, p: IndustryParams, potential: np.ndarray, good: np.ndarray,
    y: np.ndarray, inv: np.ndarray, pipe: np.ndarray, circ: np.ndarray,
) -> np.ndarray:
    """Money to ask for tomorrow's parts, USD bn ``[E, CI]``: replace tomorrow's use and close
    the gap to ``need * (lead + cover)``, within the grey market's daily capacity."""
    # the units a line could use if parts were plentiful: the other components' limit
    others = good.copy()
    others[:, IMPORTED] = np.inf
    line_limit, _ = leontief(s.line_rate, others)
    units = np.minimum(potential[:, IMPORTED], line_limit[:, COMP_LINE[IMPORTED]] / np.maximum(
        y, 1e-12))
    need = units * s.parts_per_unit
    target = need * (p.parts_lead_time_days + col(p.parts_cover_days))
    order = np.maximum(target + need - inv - pipe.sum(axis=2), 0.0)
    order = np.minimum(order, s.grey_capacity * col(circ))
    return order * s.part_cost


def bottleneck_events(
    before: np.ndarray, after: np.ndarray, output: np.ndarray, rate: np.ndarray
) -> list[EventBatch]:
    """One "bottleneck" event per line whose binding component changed today ``[E, L]``."""
    m, line = np.nonzero((after != before) & (after >= 0))
    if len(m) == 0:
        return []
    label = np.array([f"{COMPONENT_NAMES[after[i, j]]} of the {LINES[j]} line"
                      for i, j in zip(m, line, strict=True)], dtype=object)
    share = output[m, line] / np.maximum(rate[m, line], 1e-12)
    return [EventBatch("bottleneck", m, level=line, value=output[m, line], value2=share,
                       label=label)]


def indicators() -> list[dict]:
    """Daily indicators of M6."""
    return [
        dict(name="line_output", unit="units/day", description="output per product line",
             fn=lambda s: s.output, extra_dim="line", coords=list(LINES), summary="mean"),
        dict(name="line_output_share", unit="share", description="output over the nominal "
             "rate, per line", fn=lambda s: s.output / np.maximum(s.line_rate, 1e-12),
             extra_dim="line", coords=list(LINES), headline=True),
        dict(name="missiles_per_year", unit="missiles per year", description="ballistic "
             "missile output at today's rate", fn=lambda s: 365.0 * s.output[:, MISSILES],
             headline=True),
        dict(name="binding_component", unit="code", description="component limiting each "
             "line (-1 none; " + ", ".join(f"{i} {c}" for i, c in enumerate(COMPONENT_NAMES))
             + ")", fn=lambda s: s.binding.astype(float), extra_dim="line", coords=list(LINES)),
        dict(name="supply_ratio", unit="ratio", description="shells made over shells the "
             "front needs", fn=lambda s: s.supply_ratio, headline=True, summary="mean"),
        dict(name="parts_defect_rate", unit="share", description="defective share of the "
             "imported parts used today", fn=lambda s: s.defect_rate, summary="mean"),
        dict(name="order_defect_rate", unit="share", description="defect rate of today's "
             "grey-market orders", fn=lambda s: s.order_defect_rate, summary="mean"),
        dict(name="parts_inventory", unit="parts", description="imported parts in stock",
             fn=lambda s: s.inventory, extra_dim="part", coords=list(PART_KINDS)),
        dict(name="parts_pipeline", unit="parts", description="imported parts on the way",
             fn=lambda s: s.pipeline.sum(axis=2), extra_dim="part", coords=list(PART_KINDS)),
        dict(name="parts_request_usd_bn", unit="USD bn/day", description="money asked for "
             "imported parts", fn=lambda s: s.request_usd_bn.sum(axis=1), summary="mean"),
    ]
