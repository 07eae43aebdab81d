import{a as e,c as t,i as n,r,s as i}from"./index-BrPGcja2.js";var a=`query($statuses: [String!], $kinds: [String!], $maxSeverity: Int, $liveOnly: Boolean!) {
  alarms(statuses: $statuses, kinds: $kinds, maxSeverity: $maxSeverity, liveOnly: $liveOnly, first: 200) { uid rule kind condition entityUid device severity status description count openedAt lastSeen
  acknowledgedAt dispatchedAt resolvedAt closedAt clearedAt handler cameras building grid assignees history live
  nextStatuses entity { uid caption label } } }`,o=`mutation($uid: ID!, $to: AlarmStatus!) { transitionAlarm(uid: $uid, to: $to) {
  __typename ... on AlarmState { uid status } ... on IllegalTransitionProblem { current to allowed }
  ... on NotFound { uid } ... on ValidationProblem { field reason } } }`,s=`query($uid: ID!) { entity(uid: $uid) { ... on Building { devices { uid caption category } } } }`,c=`subscription { alarmChanged { change alarm { uid status kind } } }`,l=new Set([`smoke`,`heat`,`gas`,`fire_door_open`]),u=[`open`,`acknowledged`,`dispatched`,`resolved`,`closed`,`cleared`],d={acknowledged:`Acknowledge`,dispatched:`Dispatch`,resolved:`Resolve`,closed:`Close`};function f(e){switch(e.__typename){case`AlarmState`:return``;case`IllegalTransitionProblem`:return`cannot move from ${e.current} to ${e.to}; allowed: ${e.allowed.join(`, `)||`none`}`;case`NotFound`:return`no alarm ${e.uid}`;default:return`${e.field}: ${e.reason}`}}function p(p){p.innerHTML=`
    <form class="filters card">
      <fieldset><legend>Status</legend>
        ${u.map(e=>`<label><input type="checkbox" name="status" value="${e}" ${[`open`,`acknowledged`,`dispatched`].includes(e)?`checked`:``}/> ${e}</label>`).join(``)}
      </fieldset>
      <label>Kind <input name="kind" placeholder="smoke, perimeter_intrusion…" /></label>
      <label>Severity at most <select name="severity"><option value="">any</option>${[1,2,3,4].map(e=>`<option>${e}</option>`).join(``)}</select></label>
      <label><input type="checkbox" name="live" /> still live only</label>
      <span class="live">○ live</span>
    </form>
    <p class="error" role="alert"></p>
    <table class="alarms"><thead><tr><th>sev</th><th>kind</th><th>status</th><th>on</th><th>device</th>
      <th>opened</th><th>last seen</th><th>count</th><th>handler</th><th>workflow</th></tr></thead><tbody></tbody></table>
    <section class="linkage card" hidden></section>`;let m=p.querySelector(`.filters`),h=p.querySelector(`tbody`),g=p.querySelector(`.linkage`),_=p.querySelector(`.error`),v=[],y=null,b=()=>{let e=new FormData(m),t=String(e.get(`kind`)||``).split(`,`).map(e=>e.trim()).filter(Boolean);return{statuses:e.getAll(`status`),kinds:t.length?t:null,maxSeverity:e.get(`severity`)?Number(e.get(`severity`)):null,liveOnly:e.get(`live`)===`on`}},x=()=>{h.innerHTML=v.map(e=>`<tr class="sev${e.severity} ${e.uid===y?`selected`:``}" data-alarm="${n(e.uid)}">
        <td>${e.severity}</td><td>${n(e.kind)}</td><td class="status">${n(e.status)}${e.live?``:` <small>(ended)</small>`}</td>
        <td>${r(e.entityUid,e.entity?.caption)}</td><td>${n(e.device??``)}</td>
        <td>${n(t(e.openedAt))}</td><td>${n(t(e.lastSeen))}</td><td>${e.count}</td><td>${n(e.handler??``)}</td>
        <td>${e.nextStatuses.map(e=>`<button type="button" data-to="${e}">${d[e]??e}</button>`).join(` `)}</td></tr>`).join(``),v.length||(h.innerHTML=`<tr><td colspan="10" class="muted">no alarm matches</td></tr>`)},S=async()=>{try{v=(await e(a,b())).alarms,_.textContent=``}catch(e){_.textContent=e.message}x(),y&&C(v.find(e=>e.uid===y))},C=async i=>{if(!i){g.hidden=!0;return}g.hidden=!1;let a=(i.history??[]).map(e=>`<li>${n(e.to)} · ${n(t(e.at))} ${e.handler?`by ${n(e.handler)}`:``}</li>`).join(``);if(g.innerHTML=`<h3>${n(i.kind)} <small>${n(i.uid)}</small></h3>
      <p>${n(i.description??``)} · rule <code>${n(i.rule)}</code> · condition <code>${n(i.condition)}</code></p>
      <h4>Linkage</h4>
      <ul>
        <li>cameras shown: ${i.cameras.length?i.cameras.map(e=>r(e)).join(`, `):`<span class="muted">none</span>`}</li>
        <li>assigned to: ${i.assignees.length?i.assignees.map(e=>r(e)).join(`, `):`<span class="muted">nobody (no grid staff)</span>`}</li>
        <li>building ${i.building?r(i.building):`—`} · grid ${i.grid?r(i.grid):`—`}</li>
        <li class="doors">${l.has(i.kind)?`unlock command sent to the building's access control: …`:`no door linkage for this kind`}</li>
      </ul>
      <h4>History</h4><ul>${a||`<li class="muted">no moves yet</li>`}</ul>`,l.has(i.kind)&&i.building)try{let{entity:t}=await e(s,{uid:i.building}),n=(t?.devices??[]).filter(e=>e.category===`access_control`);g.querySelector(`.doors`).innerHTML=`unlock command sent to the building's access control: `+(n.length?n.map(e=>r(e.uid,e.caption)).join(`, `):`<span class="muted">none installed</span>`)}catch(e){g.querySelector(`.doors`).textContent=e.message}};h.addEventListener(`click`,async t=>{let n=t.target.closest(`tr[data-alarm]`);if(!n||t.target.closest(`a`))return;y=n.dataset.alarm;let r=t.target.closest(`button`)?.dataset.to;if(r){let{transitionAlarm:t}=await e(o,{uid:y,to:r.toUpperCase()});_.textContent=f(t),await S()}else x(),C(v.find(e=>e.uid===y))}),m.addEventListener(`change`,S),m.addEventListener(`submit`,e=>e.preventDefault());let w=p.querySelector(`.live`),T=i(c,{},()=>S(),e=>{w.textContent=e===`live`?`● live`:`○ live`,w.classList.toggle(`on`,e===`live`)});return S(),T}export{p as mount};