import{a as e,c as t,i as n,r}from"./index-BNBd5iUz.js";var i=new Set([`person`,`vehicle`,`house`]),a=`query($uid: ID!, $after: String) { profile(uid: $uid, eventsAfter: $after, eventsLimit: 20) }`,o=`query($uid: ID!) {
  entity(uid: $uid) {
    uid label caption source maskedFields
    ... on Building { code name address floorsAbove use heightM }
    ... on Device { code name category online lifecycle floor }
    ... on Estate { code name address }
    ... on Person { name sex birthDate idNumber phone residency keyPerson unregistered }
  }
  neighbourhood(uid: $uid, hops: 1, limit: 60) { nodes { uid label caption } edges { type start end } }
  alarms(entity: $uid, liveOnly: true, first: 20) { uid kind severity status description openedAt }
}`;function s(e){return`<table class="kv">${e.filter(([,e])=>e!=null&&e!==``).map(([e,t])=>`<tr><th>${n(e)}</th><td>${t}</td></tr>`).join(``)}</table>`}function c(e){return e==null?``:typeof e==`object`?`<code>${n(JSON.stringify(e))}</code>`:n(e)}function l(e,t,r){let i=r===void 0?``:` <span class="count">${r}</span>`;return`<section class="part"><h3>${n(e)}${i}</h3>${t||`<p class="muted">none</p>`}</section>`}function u(e){let t=Object.entries(e.properties??{}).filter(([e])=>![`uid`,`source`,`ingested_at`].includes(e)),i=e.type===`ASSOCIATED_WITH`,a=i?`<div class="evidence">inferred (${n(e.properties.kind)}), confidence ${n(e.properties.confidence)},
       ${n(e.properties.count)} times; evidence: ${(e.properties.evidence??[]).map(e=>`<code>${n(e)}</code>`).join(` `)}</div>`:``,o=i?[]:t.slice(0,4);return`<li class="${i?`inferred`:``}"><span class="rel">${n(e.type)}</span> ${e.direction===`out`?`→`:`←`}
    ${r(e.uid,e.caption)} <small>${n(e.label)}</small>
    ${o.map(([e,t])=>`<small>${n(e)}=${c(t)}</small>`).join(` `)}${a}</li>`}function d(e){return`<li class="flag"><b>${n(e.detector)}</b> v${n(e.version)} · score ${Number(e.score).toFixed(2)}
    <div class="reason">${n(e.explanation)}</div>
    <small>clears when: ${n(e.clears_when)} · raised ${n(t(e.raised_at))}</small>
    <details><summary>inputs and thresholds</summary><code>${n(JSON.stringify(e.inputs))}</code>
    <code>${n(JSON.stringify(e.thresholds))}</code></details></li>`}function f(e){return`<li class="alarm sev${n(e.severity)}"><b>${n(e.kind)}</b> · severity ${n(e.severity)} · ${n(e.status)}
    · ${n(t(e.opened_at??e.openedAt))} ${e.on?`on ${r(e.on)}`:``}
    <div>${n(e.description??``)}</div></li>`}function p(e){return e.map(e=>`<tr><td>${n(t(e.ts))}</td><td>${n(e.kind)}</td><td>${n(e.device)}</td>
      <td><code>${n(JSON.stringify(e.payload))}</code></td></tr>`).join(``)}async function m(t,r,s={}){t.innerHTML=`<p class="muted">loading ${n(r)}…</p>`;let c=r.split(`:`)[0];try{if(i.has(c))try{let{profile:n}=await e(a,{uid:r});g(t,n,s);return}catch(e){if(!String(e.message).includes(`'read:profile'`))throw e;s={...s,notice:`your roles do not open the holistic profile; this is what they may see`}}_(t,await e(o,{uid:r}),s)}catch(e){t.innerHTML=`<p class="error">${n(e.message)}</p>`}}function h(e,t,r,i=``){return`<header class="profile-head" data-uid="${n(e)}">
    <h2>${n(r)}</h2><p><span class="label">${n(t)}</span> <code>${n(e)}</code></p>
    <p class="actions"><a href="#/explorer?uid=${encodeURIComponent(e)}">Explore relationships</a>
    <a href="#/profile/${encodeURIComponent(e)}">Full page</a>${i}</p></header>`}function g(i,o,m){let g=o.masked.length?`<p class="muted">masked for you: ${o.masked.map(n).join(`, `)}</p>`:``,_=s(Object.entries(o.attributes).map(([e,t])=>[e,c(t)])),v=o.bim.filter(e=>e.building&&e.scene_url),y=o.bim.map(e=>`<li>${r(e.house.uid,e.house.caption)} · ${n(e.storey?.caption??``)} ·
        ${e.building?r(e.building.uid,e.building.caption):``}
        ${e.scene_url?`<a href="#/building/${encodeURIComponent(e.building.uid)}?space=${encodeURIComponent(e.house.uid)}">open in 3D</a>`:``}</li>`).join(``),b=o.residence_history.map(e=>`<li>${r(o.label===`House`?e.person:e.house,o.label===`House`?e.name||e.person:e.house)}
        ${n(e.role??``)} ${e.registered===!1?`(not registered)`:``} · ${n(t(e.since))} – ${n(t(e.until)||`now`)}</li>`).join(``),x=m.onTrajectory&&o.trajectory.length?` <button type="button" class="replay">Replay trajectory (${o.trajectory.length} passes)</button>`:``,S=v.length?` <a href="#/building/${encodeURIComponent(v[0].building.uid)}">3D building</a>`:``;i.innerHTML=`${h(o.uid,o.label,o.caption,S)}
    ${l(`Risk flags`,o.risk_flags.length?`<ul>${o.risk_flags.map(d).join(``)}</ul>`:``,o.risk_flags.length)}
    ${l(`Open alarms`,o.alarms.length?`<ul>${o.alarms.map(f).join(``)}</ul>`:``,o.alarms.length)}
    ${l(`Attributes`,g+_)}
    ${l(`Relationships`,o.relationships.length?`<ul class="rels">${o.relationships.map(u).join(``)}</ul>`:``,o.relationships.length)}
    ${l(o.label===`House`?`Residents over time`:`Residence history`,b?`<ul>${b}</ul>`:``)}
    ${l(`Place in the building model`,y?`<ul>${y}</ul>`:``)}
    ${l(`Trajectory`,o.trajectory.length?`<p>${o.trajectory.length} passes from ${n(t(o.trajectory[0].at))} to ${n(t(o.trajectory.at(-1).at))}${x}</p>`:``,o.trajectory.length)}
    ${l(`Timeline`,o.timeline.events.length?`<table class="timeline"><tbody>${p(o.timeline.events)}</tbody></table>
           ${o.timeline.next_cursor?`<button type="button" class="more">older events</button>`:``}`:``)}`,i.querySelector(`.replay`)?.addEventListener(`click`,()=>m.onTrajectory(o.uid,o.trajectory));let C=o.timeline.next_cursor,w=i.querySelector(`.more`);w?.addEventListener(`click`,async()=>{let{profile:t}=await e(a,{uid:o.uid,after:C});i.querySelector(`.timeline tbody`).insertAdjacentHTML(`beforeend`,p(t.timeline.events)),C=t.timeline.next_cursor,C||w.remove()})}function _(e,t,i){let a=t.entity;if(!a){e.innerHTML=`<p class="error">nothing in the graph has this uid</p>`;return}let o=new Set([`uid`,`label`,`caption`,`maskedFields`,`__typename`]),u=s(Object.entries(a).filter(([e])=>!o.has(e)).map(([e,t])=>[e,c(t)])),d=new Map(t.neighbourhood.nodes.map(e=>[e.uid,e])),p=t.neighbourhood.edges.map(e=>{let t=d.get(e.start===a.uid?e.end:e.start);return t?`<li><span class="rel">${n(e.type)}</span> ${e.start===a.uid?`→`:`←`} ${r(t.uid,t.caption)} <small>${n(t.label)}</small></li>`:``}).join(``),m=a.label===`Building`?` <a href="#/building/${encodeURIComponent(a.uid)}">3D building</a>`:``,g=a.maskedFields.length?`<p class="muted">masked for you: ${a.maskedFields.map(n).join(`, `)}</p>`:``,_=i.notice?`<p class="muted">${n(i.notice)}</p>`:``;e.innerHTML=`${h(a.uid,a.label,a.caption,m)}${_}
    ${l(`Open alarms`,t.alarms.length?`<ul>${t.alarms.map(f).join(``)}</ul>`:``,t.alarms.length)}
    ${l(`Attributes`,g+u)}
    ${l(`Neighbours`,p?`<ul class="rels">${p}</ul>`:``,t.neighbourhood.edges.length)}`}export{m as t};