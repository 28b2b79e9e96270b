/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_plot.h - what `dpemu trace plot` gathers from a trace
 * (trace_plot.c: its arguments and two passes over the records) and
 * draws (trace_plot_svg.c: the SVG): the figures of the title, the
 * extents of the panels, the dots of the reference pattern, the resident
 * set and the faults per interval, the latency histograms.
 * trace_plot_svg.c calls stdio only.
 */
#ifndef DPEMU_CLI_TRACE_PLOT_H
#define DPEMU_CLI_TRACE_PLOT_H

#include <stdint.h>
#include <stdio.h>

#include <dpemu.h>

#define PLOT_NFAULT (DPEMU_EVENT_UNRESOLVED + 1) /* fault kinds, by event (0 unused) */
#define PLOT_MAX_DOTS 20000    /* the most dots (or cells) of the pattern        */
#define PLOT_MAX_BANDS 6       /* the most spaces the pattern shows              */
#define PLOT_BUCKETS 100       /* the most intervals of the resident panel       */
#define PLOT_LAT_DECADES 12    /* latency bins: 1 ns to 1000 s ...               */
#define PLOT_LAT_PER_DECADE 10 /* ... 10 a decade, of equal width on a log axis  */
#define PLOT_LAT_BINS (PLOT_LAT_DECADES * PLOT_LAT_PER_DECADE)

/* The panels, as --what names them (a bit set). */
enum {
	PLOT_PATTERN = 1,
	PLOT_RESIDENT = 2,
	PLOT_LATENCY = 4,
	PLOT_ALL = 7,
};

/* The geometry of the picture, in pixels: the plots' left edge and
 * width, the picture's width, the pattern's pixel grid. */
enum { PLOT_LEFT = 104, PLOT_W = 800, PLOT_WIDTH = 960 };

/* A space seen in the faults: its extent, and its band in the pattern. */
struct plot_space {
	uint32_t id;
	uint64_t faults;
	uint64_t pmin, pmax;       /* its lowest and highest faulted page
	                              (address / page size)               */
	int band;                  /* its band, or -1: not shown          */
};

/* A band of the pattern: one space, its pages against time. */
struct plot_band {
	const struct plot_space *sp;
	int y, h;                  /* top and height of its plot, pixels  */
	uint16_t *mask;            /* downsampled: PLOT_W x h pixels, a
	                              bit per fault kind seen there        */
};

/* A dot of the pattern (exact mode): where, and its kind. */
struct plot_dot {
	float x, y;                /* in pixels, in the picture           */
	uint8_t kind;
	uint8_t band;
};

/* The latencies of one fault kind. */
struct plot_lat {
	uint64_t *v;               /* every latency (sorted after pass 1) */
	size_t n, cap;
	uint64_t bins[PLOT_LAT_BINS];
};

struct plot {
	const char *file;          /* as given, for the title             */
	const struct dpemu_trace_header *hdr;
	int what;                  /* PLOT_PATTERN | ...                  */

	/* pass 1: totals and extents */
	uint64_t records;
	uint64_t events[DPEMU_EVENT_MAX + 1]; /* [0]: unknown events       */
	uint64_t faults, lost;
	uint64_t tmin, tmax;       /* the first time, the last end        */
	struct plot_lat lat[PLOT_NFAULT];
	struct plot_space *spaces; /* by id, nspaces of them              */
	size_t nspaces, spaces_cap;

	/* the time axis, the same in every panel: nb intervals of width ns
	   from t0 */
	uint64_t t0, width;
	int nb;

	/* the pattern: bands, and either dots (every fault of the bands) or
	   the bands' masks (more than PLOT_MAX_DOTS faults) */
	struct plot_band bands[PLOT_MAX_BANDS];
	int nbands;
	uint64_t band_faults;      /* faults of the spaces shown          */
	struct plot_dot *dots;
	size_t ndots;
	int exact;                 /* dots, not masks                     */

	/* pass 2: per interval, faults by kind and the resident set */
	uint64_t (*bfaults)[PLOT_NFAULT];
	uint64_t *bmax, *bend;     /* most resident pages in it, at its end */
	uint8_t *bseen;            /* any record in it                    */
	uint64_t peak_resident, peak_in_use;

	/* the layout (plot_layout): each panel's top, 0 where not drawn, and
	   the picture's height */
	int y_pattern, y_resident, y_latency, height;
};

/* Where the panels go (trace_plot_svg.c): the panels' tops, the
 * picture's height, the bands' y and h, from p->what, p->nbands and the
 * fault kinds seen.  Called after pass 1, before pass 2. */
void plot_layout(struct plot *p);

/* Write the picture of p to f (trace_plot_svg.c). */
void plot_svg(FILE *f, const struct plot *p);

/* The bin of latency ns, 0 to PLOT_LAT_BINS - 1 (0 ns in bin 0, 1000 s
 * and more in the last). */
int plot_lat_bin(uint64_t ns);

/* The lower edge of latency bin bin, in ns (trace_plot.c). */
double plot_lat_edge(int bin);

#endif
