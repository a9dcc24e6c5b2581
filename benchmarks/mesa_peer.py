"""The hierarchy kernel written idiomatically in Mesa 3: the peer our engine is timed against.

One :class:`Officer` agent per post of the chain of command, one :class:`HierarchyKernel` model
per ensemble member; a day is a staged activation over ``model.agents`` (``do`` and
``shuffle_do``) and a :class:`mesa.DataCollector` records the indicators every day, as in
Mesa's own examples. Randomness comes only from Mesa's generator (``model.random``).

The sub-steps of a day follow the engine (:func:`loyaltytrap.engine.step` with the kernel
overrides of :mod:`benchmarks.kernel`):

1. problems arise at the units (one uniform partitions no problem / front / supply /
   equipment; exponential severity);
2. news forwarded yesterday reaches its officer, buried stocks worsen by ``severity_growth``
   and everything held ages a day; every officer holding news buries all of it with
   ``min(1, scrub_sensitivity * fear * (1 - candour))`` or forwards all of it (level 0 relays
   it to the leader the same day); a buried stock that reaches ``visibility_threshold``
   surfaces entirely;
3. fear decays toward its baseline, vacant posts whose vacancy ended are filled; a candid
   serving officer is purged with ``candour_purge_prob * candour_exposure_decay**level`` and
   replaced by a loyal deputy; fear spreads from today's purges.
"""

from __future__ import annotations

import math

import mesa

from .kernel import KernelParams

SERVING, JAILED, DISAPPEARED, REMOVED = 0, 1, 2, 3
FRONT, SUPPLY, EQUIPMENT = 0, 1, 2


def clipped_gauss(rng_gauss: float, mean: float, sd: float) -> float:
    """``mean + sd * z`` for a standard normal ``z``, clipped to [0, 1]."""
    return min(1.0, max(0.0, mean + sd * rng_gauss))


class Officer(mesa.Agent):
    """The holder of one post: attributes, the news it holds, and what it has buried."""

    def __init__(self, model: HierarchyKernel, level: int, superior: Officer | None) -> None:
        super().__init__(model)
        p = model.p
        self.level = level
        self.superior = superior
        self.competence = clipped_gauss(self.random.gauss(), p.competence_mean, p.competence_sd)
        self.loyalty = clipped_gauss(self.random.gauss(), p.loyalty_mean, p.loyalty_sd)
        self.candour = clipped_gauss(self.random.gauss(), p.candour_mean, p.candour_sd)
        self.fear = p.initial_fear
        self.status = SERVING
        self.vacant_until = 0
        # news held today (problems per domain, severity units, day-sum of ages)
        self.news = [0, 0, 0]
        self.news_sev = 0.0
        self.news_age = 0.0
        # news on its way to this officer, arriving tomorrow
        self.incoming = [0, 0, 0]
        self.incoming_sev = 0.0
        self.incoming_age = 0.0
        # news buried at this post
        self.hidden = [0, 0, 0]
        self.hidden_sev = 0.0
        self.hidden_age = 0.0
        self.candid = False

    # --- 1. the war ---------------------------------------------------------------------
    def meet_problem(self) -> None:
        """A unit commander may meet a new problem today."""
        p = self.model.p
        u = self.random.random()
        r_front = p.front_problem_rate
        r_supply = r_front + p.supply_problem_rate
        r_total = r_supply + p.equipment_problem_rate
        if u >= r_total:
            return
        domain = FRONT if u < r_front else SUPPLY if u < r_supply else EQUIPMENT
        self.news[domain] += 1
        self.news_sev += self.random.expovariate(1.0 / p.severity_mean)
        self.model.arisen_total += 1

    # --- 2. sitreps -----------------------------------------------------------------------
    def receive(self) -> None:
        """Yesterday's forwarded news arrives; what is buried worsens; everything ages."""
        self.hidden_sev *= 1.0 + self.model.p.severity_growth
        self.hidden_age += sum(self.hidden)
        self.news = [a + b for a, b in zip(self.news, self.incoming, strict=True)]
        self.news_sev += self.incoming_sev
        self.news_age += self.incoming_age + sum(self.incoming)
        self.incoming = [0, 0, 0]
        self.incoming_sev = self.incoming_age = 0.0

    def send_sitrep(self) -> None:
        """Bury all the news held, or forward all of it one level up."""
        self.candid = False
        held = sum(self.news)
        if held == 0:
            return
        p = self.model.p
        p_scrub = min(1.0, p.scrub_sensitivity * self.fear * (1.0 - self.candour))
        if self.random.random() < p_scrub:
            self.hidden = [a + b for a, b in zip(self.hidden, self.news, strict=True)]
            self.hidden_sev += self.news_sev
            self.hidden_age += self.news_age
        else:
            self.candid = True
            if self.superior is None:  # level 0 relays to the leader the same day
                self.model.relayed_total += held
            else:
                sup = self.superior
                sup.incoming = [a + b for a, b in zip(sup.incoming, self.news, strict=True)]
                sup.incoming_sev += self.news_sev
                sup.incoming_age += self.news_age
        self.news = [0, 0, 0]
        self.news_sev = self.news_age = 0.0

    def surface(self) -> None:
        """Buried news that can no longer be hidden surfaces entirely."""
        if self.hidden_sev >= self.model.p.visibility_threshold:
            self.model.surfaced_total += sum(self.hidden)
            self.hidden = [0, 0, 0]
            self.hidden_sev = self.hidden_age = 0.0

    # --- 3. purges and fear -----------------------------------------------------------------
    def settle(self) -> None:
        """Fear fades toward the baseline; an acting deputy whose vacancy ended now serves."""
        p = self.model.p
        self.fear = p.fear_baseline + (self.fear - p.fear_baseline) * (1.0 - p.fear_decay)
        if self.status != SERVING and self.vacant_until <= self.model.day:
            self.status = SERVING

    def face_purge(self) -> None:
        """A serving officer who forwarded bad news today may be purged for candour."""
        if not (self.candid and self.status == SERVING):
            return
        p = self.model.p
        if self.random.random() < p.candour_purge_prob * p.candour_exposure_decay**self.level:
            self.model.purged_today[self.level] += 1
            self.replace_holder()

    def replace_holder(self) -> None:
        """The purged officer's fate; a loyal, less competent, less candid deputy takes over."""
        p, m = self.model.p, self.model
        u = self.random.random()
        fate = (JAILED if u < p.jailed_share
                else DISAPPEARED if u < p.jailed_share + p.disappeared_share else REMOVED)
        m.fates[fate - 1] += 1
        self.competence = clipped_gauss(self.random.gauss(),
                                        self.competence - p.replacement_competence_drop,
                                        p.replacement_sd)
        self.loyalty = clipped_gauss(self.random.gauss(), p.replacement_loyalty, p.replacement_sd)
        self.candour = clipped_gauss(self.random.gauss(), p.replacement_candour, p.replacement_sd)
        self.status = fate
        self.vacant_until = m.day + p.vacancy_length

    def absorb_fear(self) -> None:
        """Fear jumps with today's purges: at this officer's level, and everywhere."""
        m, p = self.model, self.model.p
        keep = ((1.0 - p.fear_spread_level) ** m.purged_today[self.level]
                * (1.0 - p.fear_spread_all) ** m.purged_today_total)
        self.fear += (1.0 - self.fear) * (1.0 - keep)


class HierarchyKernel(mesa.Model):
    """One ensemble member: the chain of command of ``p.levels`` levels, ``p.branching``-ary."""

    def __init__(self, p: KernelParams, rng: int | list[int] | None = None) -> None:
        super().__init__(rng=rng)
        self.p = p
        self.day = 0
        self.arisen_total = 0
        self.relayed_total = 0
        self.surfaced_total = 0
        self.purged_total = 0
        self.fates = [0, 0, 0]
        self.purged_today = [0] * p.levels
        self.purged_today_total = 0
        superiors: list[Officer | None] = [None]
        for level, size in enumerate(p.level_sizes):
            b = size // len(superiors)
            superiors = [Officer(self, level, superiors[i // b]) for i in range(size)]
        self.units = self.agents.select(lambda a: a.level == p.levels - 1)
        self.datacollector = mesa.DataCollector(model_reporters={
            "reaching_top_share": reaching_top_share,
            "fear_mean": lambda m: m.agents.agg("fear", _mean),
            "purged_total": "purged_total",
            "vacant_posts": lambda m: sum(a.status != SERVING for a in m.agents),
            "hidden_problems": lambda m: sum(sum(a.hidden) for a in m.agents),
            "surfaced_total": "surfaced_total",
            "arisen_total": "arisen_total",
        })

    def step(self) -> None:
        """One day, sub-steps in the engine's causal order."""
        self.units.shuffle_do("meet_problem")
        self.agents.do("receive")
        self.agents.shuffle_do("send_sitrep")  # with a one-day hop the order does not matter
        self.agents.do("surface")
        self.agents.do("settle")
        self.purged_today = [0] * self.p.levels
        self.agents.shuffle_do("face_purge")
        self.purged_today_total = sum(self.purged_today)
        self.purged_total += self.purged_today_total
        if self.purged_today_total:
            self.agents.do("absorb_fear")
        self.day += 1
        self.datacollector.collect(self)


def _mean(xs: list[float]) -> float:
    return math.fsum(xs) / len(xs)


def reaching_top_share(m: HierarchyKernel) -> float:
    """Cumulative share of new problems relayed to the leader by the chain."""
    return m.relayed_total / m.arisen_total if m.arisen_total else math.nan


def run_member(p: KernelParams, days: int, seed: int, member: int) -> dict[str, float]:
    """Run one member ``days`` days and return the last day's indicators."""
    model = HierarchyKernel(p, rng=[seed, member])
    for _ in range(days):
        model.step()
    return model.datacollector.get_model_vars_dataframe().iloc[-1].to_dict()
