// Draws the report from the JSON in #report-data with Apache ECharts (SVG renderer), then records a
// self-check in #report-status: how many charts were drawn, which have no data or drew nothing, and
// every script error (the browser test reads it).
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('report-data').textContent);
  const charts = [];
  const NORMS = [['l1', 'l\u2081'], ['l2', 'l\u2082'], ['linf', 'l\u221e']];
  const fmt = (v, d) => (v === null || v === undefined) ? '\u2013' : Number(v).toPrecision(d || 3);
  const pct = v => (v === null || v === undefined) ? '\u2013' : (100 * v).toFixed(2) + ' %';
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const main = document.querySelector('main');

  function section(id, title, help) {
    const s = el('section', {id: id});
    s.appendChild(el('h2', {}, title));
    if (help) s.appendChild(el('p', {class: 'help'}, help));
    main.appendChild(s);
    return s;
  }

  function chart(parent, option, cls) {
    const div = el('div', {class: 'chart' + (cls ? ' ' + cls : '')});
    parent.appendChild(div);
    const c = echarts.init(div, null, {renderer: 'svg'});
    option.animation = false;
    // everything drawn in one pass: progressive (frame by frame) rendering never settles under a virtual clock
    (option.series || []).forEach(sr => { sr.progressive = 0; sr.progressiveThreshold = 1e9; sr.large = false; });
    c.setOption(option);
    charts.push({div: div, chart: c, title: (option.title && option.title.text) || ''});
    return c;
  }

  const base = (title, xName, yName) => ({
    title: {text: title, left: 'center', textStyle: {fontSize: 13}},
    tooltip: {trigger: 'axis'},
    legend: {bottom: 0, type: 'scroll'},
    grid: {left: 60, right: 20, top: 40, bottom: 64},
    xAxis: {name: xName, nameLocation: 'middle', nameGap: 26},
    yAxis: {name: yName, nameLocation: 'middle', nameGap: 44}
  });

  // --- runs
  (function runs() {
    const s = section('runs', 'Runs', 'One row per certification run: accuracy, distinct activation patterns (#CLR), median ' +
      'margins in raw input units, soundness violations (must be 0) and the provenance hash of the resolved settings.');
    const t = el('table');
    const head = ['run date', 'run id', 'model', 'data', 'split', 'n', 'accuracy', '#CLR', 'median eps_1', 'median eps_2',
      'median eps_inf', 'soundness violations', 'config hash'];
    const tr = el('tr');
    head.forEach((h, i) => tr.appendChild(el('th', i < 5 ? {class: 'l'} : {}, h)));
    t.appendChild(tr);
    D.runs.forEach(r => {
      const row = el('tr');
      [r.run_date, r.series, r.model_id, r.dataset, r.split].forEach(v => row.appendChild(el('td', {class: 'l'}, v)));
      row.appendChild(el('td', {}, String(r.n)));
      row.appendChild(el('td', {}, pct(r.accuracy)));
      row.appendChild(el('td', {}, String(r.distinct_patterns)));
      row.appendChild(el('td', {}, fmt(r.eps_l1_p50)));
      row.appendChild(el('td', {}, fmt(r.eps_l2_p50)));
      row.appendChild(el('td', {}, fmt(r.eps_linf_p50)));
      row.appendChild(el('td', r.soundness_violations > 0 ? {class: 'bad'} : {}, String(r.soundness_violations)));
      row.appendChild(el('td', {class: 'hash', title: r.data_fingerprint ? 'data ' + r.data_fingerprint : ''},
        (r.config_hash || '').substring(0, 12)));
      t.appendChild(row);
    });
    const wrap = el('div', {style: 'overflow-x: auto'});
    wrap.appendChild(t);
    s.appendChild(wrap);
    if (D.notes.length) {
      const ul = el('ul', {class: 'notes'});
      D.notes.forEach(n => ul.appendChild(el('li', {}, n)));
      s.appendChild(ul);
    }
  })();

  // --- certified accuracy against radius
  (function certified() {
    const s = section('certified', 'Certified accuracy against radius',
      'The fraction of examples that are classified correctly with a certificate of at least r (inside the stable ' +
      'region and short of the decision boundary), on a fine log-spaced grid of radii, all runs overlaid.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    NORMS.forEach(([p, label]) => {
      const c = D.certifiedAccuracy[p];
      const o = base('certified accuracy, ' + label, 'radius r (' + label + ', raw input units)', 'certified accuracy');
      o.xAxis.type = 'log';
      o.yAxis.type = 'value'; o.yAxis.min = 0; o.yAxis.max = 1;
      o.series = Object.entries(c.runs).map(([id, v]) => ({name: id, type: 'line', showSymbol: false,
        data: v.map((y, i) => [c.radii[i], y])}));
      chart(g, o);
    });
  })();

  // --- margin distributions
  (function distributions() {
    const s = section('distributions', 'Margin distributions',
      'The distribution of eps (the radius of the stable region around each example) per run, as a CDF on a log axis: ' +
      'a ROLL model\'s curve lies to the right of the vanilla one.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    NORMS.forEach(([p, label]) => {
      const o = base('CDF of eps, ' + label, 'eps (' + label + ', raw input units)', 'fraction of examples');
      o.xAxis.type = 'log';
      o.yAxis.type = 'value'; o.yAxis.min = 0; o.yAxis.max = 1;
      o.series = Object.entries(D.distributions[p]).map(([id, v]) => ({name: id, type: 'line', showSymbol: false,
        data: v.map((x, i) => [x, D.distributions.levels[i]]).filter(d => d[0] !== null && d[0] > 0)}));
      chart(g, o);
    });
  })();

  // --- training curves
  if (D.training && Object.keys(D.training).length) {
    const s = section('training', 'Training curves',
      'Per epoch: training loss, the ROLL term (before lambda), validation accuracy and the validation probe\'s median eps_2.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    [['train_loss', 'training loss', 'value'], ['train_roll_term', 'ROLL term', 'value'],
      ['val_accuracy', 'validation accuracy', 'value'], ['val_eps_l2_p50', 'validation median eps_2', 'log']]
      .forEach(([k, title, type]) => {
        const o = base(title, 'epoch', '');
        o.xAxis.type = 'value'; o.xAxis.minInterval = 1;
        o.yAxis.type = type; o.yAxis.scale = true;
        o.series = Object.entries(D.training).map(([id, r]) => ({name: id, type: 'line',
          data: r.epoch.map((e, i) => [e, r[k][i]]).filter(d => d[1] !== null && (type !== 'log' || d[1] > 0))}));
        chart(g, o);
      });
  }

  // --- per class
  (function perClass() {
    const s = section('classes', 'Per class', 'Accuracy and median eps_2 per true class.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    const names = {};
    D.runs.forEach(r => { if (r.class_names) names[r.run_id] = r.class_names; });
    const labels = [...new Set(Object.values(D.perClass).flatMap(r => r.labels))].sort((a, b) => a - b);
    const first = Object.keys(names)[0];
    const cat = labels.map(l => first && names[first][l] !== undefined ? names[first][l] : String(l));
    [['accuracy', 'accuracy per class', 'value'], ['medianEps2', 'median eps_2 per class', 'log']].forEach(([k, title, type]) => {
      const o = base(title, 'class', '');
      o.tooltip = {trigger: 'axis', axisPointer: {type: 'shadow'}};
      o.xAxis.type = 'category'; o.xAxis.data = cat;
      o.yAxis.type = type; if (type === 'value') { o.yAxis.min = 0; o.yAxis.max = 1; }
      o.series = Object.entries(D.perClass).map(([id, r]) => ({name: id, type: 'bar',
        data: labels.map(l => { const i = r.labels.indexOf(l); return i < 0 ? null : r[k][i]; })}));
      chart(g, o);
    });
  })();

  // --- stability bounds (the paper's Figure 3)
  if (D.bounds.length) {
    const s = section('bounds', 'Per-pixel stability bounds',
      'For the examples at the P25 / P50 / P75 of eps_2: how far each input coordinate may move up (dir_pos) or down ' +
      '(dir_neg) alone, with all others fixed, before the activation pattern can change (raw input units). Larger is ' +
      'more stable.');
    const g = el('div', {class: 'heat'});
    s.appendChild(g);
    D.bounds.forEach(b => {
      const h = b.shape.length === 3 ? b.shape[1] : b.shape[0];
      const w = b.shape.length === 3 ? b.shape[2] : b.shape[1];
      const panels = b.image ? [['image', 'image']] : [];
      panels.push(['pos', 'dir_pos'], ['neg', 'dir_neg']);
      panels.forEach(([k, name]) => {
        const v = k === 'image' && b.shape.length === 3 ? b.image.slice(0, h * w) : b[k];
        const data = [];
        const finite = v.filter(x => x !== null && isFinite(x));
        for (let i = 0; i < h * w; i++) data.push([i % w, h - 1 - Math.floor(i / w), v[i] === null ? null : v[i]]);
        chart(g, {
          title: {text: b.series + ' ' + b.quantile + ': ' + name, subtext: 'example ' + b.example_id + ', label ' + b.label +
            ', eps_2 ' + fmt(b.eps_l2), left: 'center', textStyle: {fontSize: 12}, subtextStyle: {fontSize: 11}},
          tooltip: {position: 'top'},
          grid: {left: 8, right: 8, top: 52, bottom: 34},
          xAxis: {type: 'category', data: [...Array(w).keys()], show: false},
          yAxis: {type: 'category', data: [...Array(h).keys()], show: false},
          visualMap: {min: Math.min(...finite), max: Math.max(...finite), calculable: false, orient: 'horizontal',
            left: 'center', bottom: 0, itemHeight: 120, itemWidth: 10, textStyle: {fontSize: 10},
            inRange: {color: k === 'image' ? ['#000000', '#ffffff'] : ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725']}},
          series: [{type: 'heatmap', data: data}]
        });
      });
    });
  }

  // --- linear regions on 2-D data (the paper's Figure 1)
  if (D.regions && D.regions.length) {
    const s = section('regions', 'Linear regions on 2-D data',
      'The input plane coloured by linear region (activation pattern; colours repeat), the decision boundary (black), ' +
      'sample points by class, and the largest certified l2 ball among the certified examples (red): ROLL makes the ' +
      'regions around the data larger.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    const palette = ['#cfe3f5', '#fbe0c8', '#d6efd0', '#f3d1d9', '#e4daf2', '#f6efc4', '#d3eeee', '#eed7c7', '#dde3ea',
      '#f0d9ef', '#dcedc1', '#c9d9f0'];
    D.regions.forEach(m => {
      const n = m.side;
      const step = (m.hi - m.lo) / (n - 1);
      const box = {left: 50, right: 20, top: 48, bottom: 56};
      const circle = [];
      if (m.ball) for (let a = 0; a <= 72; a++) circle.push([m.ball.x + m.ball.r * Math.cos(a * Math.PI / 36),
        m.ball.y + m.ball.r * Math.sin(a * Math.PI / 36)]);
      const cats = [...Array(n).keys()];
      chart(g, {
        title: {text: m.series + ': ' + m.regions + ' regions on the grid', left: 'center', textStyle: {fontSize: 13}},
        tooltip: {trigger: 'item'},
        legend: {bottom: 0, data: ['class 0', 'class 1', 'boundary', 'largest certified l2 ball']},
        grid: [box, box],
        xAxis: [{type: 'category', data: cats, show: false, gridIndex: 0},
          {type: 'value', min: m.lo - step / 2, max: m.hi + step / 2, gridIndex: 1, splitLine: {show: false},
            axisLabel: {showMinLabel: false, showMaxLabel: false}}],
        yAxis: [{type: 'category', data: cats, show: false, gridIndex: 0},
          {type: 'value', min: m.lo - step / 2, max: m.hi + step / 2, gridIndex: 1, splitLine: {show: false},
            axisLabel: {showMinLabel: false, showMaxLabel: false}}],
        visualMap: {type: 'piecewise', show: false, seriesIndex: 0, categories: [...Array(palette.length).keys()],
          inRange: {color: palette}},
        series: [
          {type: 'heatmap', xAxisIndex: 0, yAxisIndex: 0, silent: true,
            data: m.region.map((v, i) => [i % n, Math.floor(i / n), v % palette.length])},
          {name: 'boundary', type: 'scatter', xAxisIndex: 1, yAxisIndex: 1, symbolSize: 2, itemStyle: {color: '#000'},
            silent: true, data: m.boundary},
          {name: 'class 0', type: 'scatter', xAxisIndex: 1, yAxisIndex: 1, symbolSize: 4, itemStyle: {color: '#1f5fa8'},
            data: m.points.filter(p => p[2] === 0).map(p => [p[0], p[1]])},
          {name: 'class 1', type: 'scatter', xAxisIndex: 1, yAxisIndex: 1, symbolSize: 4, itemStyle: {color: '#d9822b'},
            data: m.points.filter(p => p[2] !== 0).map(p => [p[0], p[1]])},
          {name: 'largest certified l2 ball', type: 'line', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false,
            lineStyle: {color: '#b42318', width: 2}, itemStyle: {color: '#b42318'}, data: circle}]
      }, 'square');
    });
  }

  // --- gradient stability
  if (D.gradients && Object.keys(D.gradients).length) {
    const s = section('gradients', 'Gradient stability',
      'Distributions of the expected and the maximum l1 distortion of the input gradient in a box around each example.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    [['mean', 'expected distortion'], ['max', 'maximum distortion']].forEach(([k, title]) => {
      const h = D.gradients[k];
      const o = base(title, 'l1 distortion', 'examples');
      o.tooltip = {trigger: 'axis', axisPointer: {type: 'shadow'}};
      o.xAxis.type = 'category';
      o.xAxis.data = h.edges.slice(0, -1).map((e, i) => fmt((e + h.edges[i + 1]) / 2, 2));
      o.yAxis.type = 'value';
      o.series = Object.entries(h.runs).map(([id, c]) => ({name: id, type: 'bar', data: c}));
      chart(g, o);
    });
  }

  // --- sweeps (the paper's Figure 2)
  (D.sweeps || []).forEach(sw => {
    const s = section('sweep-' + sw.run_id, 'Sweep ' + sw.run_id,
      'Every point\'s validation accuracy against its validation median eps_2 (the paper\'s selection: the largest ' +
      'median eps_2 at the vanilla model\'s accuracy, and at 1 point below), then the paper\'s Figure 2 panels: test ' +
      'median eps_2 and accuracy against each swept setting, one curve per value of the others.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    const ok = sw.points.filter(p => p.status === 'ok' && p.val_eps_l2_p50 !== null);
    const label = p => p.loss_type === 'vanilla' ? 'vanilla' : sw.keys.map(k => k.replace(/^.*\./, '') + ' ' + p.settings[k]).join(', ');
    const o = base('validation accuracy against median eps_2', 'validation median eps_2 (log)', 'validation accuracy');
    o.tooltip = {trigger: 'item', formatter: q => q.data[2] + '<br>eps_2 ' + fmt(q.data[0]) + ', accuracy ' + pct(q.data[1])};
    o.xAxis.type = 'log'; o.yAxis.type = 'value'; o.yAxis.scale = true;
    o.series = [
      {name: 'points', type: 'scatter', symbolSize: 8,
        data: ok.filter(p => !p.selected && p.loss_type !== 'vanilla').map(p => [p.val_eps_l2_p50, p.val_accuracy, label(p)])},
      {name: 'vanilla', type: 'scatter', symbol: 'diamond', symbolSize: 13,
        data: ok.filter(p => p.loss_type === 'vanilla').map(p => [p.val_eps_l2_p50, p.val_accuracy, 'vanilla'])},
      {name: 'selected', type: 'scatter', symbol: 'triangle', symbolSize: 16, itemStyle: {color: '#b42318'},
        label: {show: true, position: 'left', formatter: q => q.data[3], fontSize: 11},
        data: ok.filter(p => p.selected).map(p => [p.val_eps_l2_p50, p.val_accuracy, label(p), p.selected])}];
    chart(g, o);
    const grid = ok.filter(p => p.loss_type !== 'vanilla');
    const num = v => isNaN(Number(v)) ? Infinity : Number(v);
    sw.keys.forEach(k => {
      const others = sw.keys.filter(x => x !== k);
      const xs = [...new Set(grid.map(p => p.settings[k]))].sort((a, b) => num(a) - num(b) || String(a).localeCompare(String(b)));
      const groups = {};
      const order = {};
      grid.forEach(p => {
        const name = others.length ? others.map(x => x.replace(/^.*\./, '') + ' ' + p.settings[x]).join(', ') : k;
        (groups[name] = groups[name] || {})[p.settings[k]] = p;
        order[name] = others.map(x => p.settings[x]);
      });
      const byOrder = (a, b) => {
        for (let i = 0; i < order[a].length; i++) {
          const d = num(order[a][i]) - num(order[b][i]) || String(order[a][i]).localeCompare(String(order[b][i]));
          if (d) return d;
        }
        return 0;
      };
      [['test_eps_l2_p50', 'val_eps_l2_p50', 'median eps_2', 'log'], ['test_accuracy', 'val_accuracy', 'accuracy', 'value']]
        .forEach(([test, val, what, type]) => {
          const useTest = grid.some(p => p[test] !== null);
          const f = useTest ? test : val;
          const o2 = base((useTest ? 'test ' : 'validation ') + what + ' against ' + k, k, '');
          o2.xAxis.type = 'category'; o2.xAxis.data = xs;
          o2.yAxis.type = type; o2.yAxis.scale = true;
          o2.series = Object.keys(groups).sort(byOrder).map(name => [name, groups[name]]).map(([name, byX]) => ({name: name, type: 'line',
            data: xs.map(x => byX[x] ? byX[x][f] : null), connectNulls: true}));
          chart(g, o2, 'small');
        });
    });
  });

  // --- scheduled evaluation
  if (D.schedule && D.schedule.length) {
    const s = section('schedule', 'Scheduled evaluation',
      'Models certified on several run dates: accuracy, median eps_2 and certified accuracy at the configured l2 radii ' +
      'over time. A marked date moved by more than ' + (100 * D.driftThreshold).toFixed(1) + ' % (report.driftThreshold) ' +
      'against the date before.');
    const g = el('div', {class: 'grid'});
    s.appendChild(g);
    D.schedule.forEach(m => {
      Object.entries(m.series).forEach(([name, v]) => {
        const o = base(m.model + ': ' + name, 'run date', '');
        o.xAxis.type = 'category'; o.xAxis.data = m.dates;
        o.yAxis.type = 'value'; o.yAxis.scale = true;
        const drift = m.drift.filter(d => d.series === name);
        o.series = [{name: name, type: 'line', data: v,
          markPoint: {symbol: 'pin', itemStyle: {color: '#b42318'}, label: {formatter: 'drift', fontSize: 10},
            data: drift.map(d => ({coord: [d.index, v[d.index]], value: d.to}))}}];
        chart(g, o, 'small');
      });
    });
  }

  // --- self-check for tests: every chart has data and drew marks
  const empty = [];
  charts.forEach(c => {
    const series = c.chart.getOption().series || [];
    const points = series.reduce((n, sr) => n + (sr.data || []).filter(d => d !== null).length, 0);
    const marks = c.div.querySelectorAll('svg path, svg rect, svg circle, svg polyline').length;
    if (points === 0 || marks < 3) empty.push(c.title + ' (' + points + ' points, ' + marks + ' marks)');
  });
  window.__report.charts = charts.length;
  window.__report.empty = empty;
  window.__report.done = true;
  document.getElementById('report-status').textContent = JSON.stringify(window.__report);
  window.addEventListener('resize', () => charts.forEach(c => c.chart.resize()));
})();
